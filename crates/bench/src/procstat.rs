//! CPU time of a process from `/proc/<pid>/stat`, so a run can report the server's CPU per
//! request (the measure that does not depend on how many cores the client takes).

/// User plus system CPU seconds `pid` has used so far, or `None` where `/proc` does not have it.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_seconds(&stat)
}

/// User plus system CPU seconds of this process.
pub fn own_cpu_seconds() -> Option<f64> {
    cpu_seconds(std::process::id())
}

/// Reads fields 14 and 15 (utime, stime, in clock ticks) of a `stat` line. The command name in
/// field 2 is in parentheses and may hold spaces, so counting starts after the last `)`.
fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux the project runs on.
    Some((user + system) as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_system_ticks_after_a_name_with_spaces() {
        let stat = "4242 (tokio (rt) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3";
        assert_eq!(parse_cpu_seconds(stat), Some(3.25));
    }

    #[test]
    fn a_truncated_line_is_none() {
        assert_eq!(parse_cpu_seconds("4242 (x) S 1 2"), None);
        assert_eq!(parse_cpu_seconds("garbage"), None);
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        assert!(own_cpu_seconds().is_some());
    }
}
