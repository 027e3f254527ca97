//! What the process does to itself before it touches a secret: no core dumps, and no
//! ptrace or `/proc/<pid>/mem` reading by other processes of the same user (both follow
//! `PR_SET_DUMPABLE`). The root key and every unsealed key live in this process's memory; a
//! crash must not write them to a core file, and a neighbour process running as the same user
//! must not read them out.

/// Turns core dumps off for this process (`RLIMIT_CORE` = 0, soft and hard) and marks it not
/// dumpable (`prctl(PR_SET_DUMPABLE, 0)`). Each step that fails (a sandbox that forbids it)
/// is returned as a warning to log; the process goes on, less protected.
pub fn disable_core_dumps() -> Vec<String> {
    let mut warnings = Vec::new();
    let no_core = rustix::process::Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    if let Err(error) = rustix::process::setrlimit(rustix::process::Resource::Core, no_core) {
        warnings.push(format!(
            "could not set RLIMIT_CORE to 0 ({error}): a crash may write a core file holding key material"
        ));
    }
    if let Err(error) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        warnings.push(format!(
            "could not mark the process not dumpable ({error}): core files and ptrace by the same user stay possible"
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_dumps_are_off_afterwards() {
        let warnings = disable_core_dumps();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(matches!(
            rustix::process::dumpable_behavior(),
            Ok(rustix::process::DumpableBehavior::NotDumpable)
        ));
        let limit = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!((limit.current, limit.maximum), (Some(0), Some(0)));
    }
}
