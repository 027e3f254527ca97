//! Settings: flags, then environment, then a TOML file, then defaults (DESIGN.md section 1).
//! clap resolves flag over environment; this module layers the file and the defaults under it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use strongbox_core::model::Region;

use crate::datadir::Bootstrap;

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4599";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./strongbox-data";
/// The default Region.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The TOML configuration file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// `listen = "127.0.0.1:4599"`
    pub listen: Option<String>,
    /// `data-dir = "/var/lib/strongbox"`
    pub data_dir: Option<PathBuf>,
    /// `region = ["us-east-1", "eu-west-1"]` or `region = "us-east-1"`
    pub region: Option<RegionList>,
    /// `store = "sqlite:///var/lib/strongbox/strongbox.db"`
    pub store: Option<String>,
}

/// One Region or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RegionList {
    /// `region = "us-east-1"`
    One(String),
    /// `region = ["us-east-1", "eu-west-1"]`
    Many(Vec<String>),
}

impl FileConfig {
    /// Reads the file, or an empty configuration when no file is named.
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read config file {}: {error}", path.display()))?;
        toml::from_str(&text).map_err(|error| format!("config file {}: {error}", path.display()))
    }
}

/// The resolved settings of `strongbox serve`.
#[derive(Debug)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The Regions served (at least one).
    pub regions: Vec<Region>,
    /// The store URL.
    pub store: String,
    /// What a first start creates.
    pub bootstrap: Bootstrap,
    /// How long a request body may take to arrive (not a user setting; tests shorten it).
    pub body_read_timeout: std::time::Duration,
}

/// The data directory from the flag or environment, else the file, else the default.
pub fn data_dir(cli: Option<PathBuf>, file: &FileConfig) -> PathBuf {
    cli.or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

/// The store URL: explicit, else SQLite in the data directory.
pub fn store_url(cli: Option<String>, file: &FileConfig, data_dir: &Path) -> String {
    cli.or_else(|| file.store.clone())
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("strongbox.db").display()))
}

/// Resolves the serve settings.
pub fn serve(
    listen: Option<String>,
    regions: Option<Vec<String>>,
    store: Option<String>,
    data_dir: PathBuf,
    file: &FileConfig,
    bootstrap: Bootstrap,
) -> Result<ServeConfig, String> {
    let listen = listen
        .or_else(|| file.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let listen: SocketAddr = listen
        .parse()
        .map_err(|_| format!("listen address '{listen}' is not IP:PORT, e.g. 127.0.0.1:4599"))?;
    let regions = regions
        .or_else(|| {
            file.region.as_ref().map(|list| match list {
                RegionList::One(one) => vec![one.clone()],
                RegionList::Many(many) => many.clone(),
            })
        })
        .unwrap_or_else(|| vec![DEFAULT_REGION.to_owned()]);
    let regions = regions
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
        .map(|name| Region::parse(name).map_err(|error| error.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    if regions.is_empty() {
        return Err("at least one region must be served".to_owned());
    }
    let store = store_url(store, file, &data_dir);
    Ok(ServeConfig {
        listen,
        data_dir,
        regions,
        store,
        bootstrap,
        body_read_timeout: crate::http::BODY_READ_TIMEOUT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongbox_core::model::AccountId;

    fn bootstrap() -> Bootstrap {
        Bootstrap {
            account: AccountId::parse("111122223333").unwrap(),
            fixed_key: None,
        }
    }

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let file: FileConfig = toml::from_str(
            "listen = \"127.0.0.1:5000\"\nregion = [\"eu-west-1\", \"us-east-1\"]\nstore = \"sqlite:///tmp/x.db\"",
        )
        .unwrap();
        let from_file = serve(None, None, None, PathBuf::from("d"), &file, bootstrap()).unwrap();
        assert_eq!(from_file.listen.port(), 5000);
        assert_eq!(from_file.regions.len(), 2);
        assert_eq!(from_file.store, "sqlite:///tmp/x.db");
        let flags = serve(
            Some("127.0.0.1:6000".into()),
            Some(vec!["ap-south-1".into()]),
            None,
            PathBuf::from("d"),
            &file,
            bootstrap(),
        )
        .unwrap();
        assert_eq!(flags.listen.port(), 6000);
        assert_eq!(flags.regions[0].as_str(), "ap-south-1");
        let defaults = serve(
            None,
            None,
            None,
            PathBuf::from("d"),
            &FileConfig::default(),
            bootstrap(),
        )
        .unwrap();
        assert_eq!(defaults.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(defaults.store, "sqlite://d/strongbox.db");
    }

    #[test]
    fn bad_values_are_explained() {
        let file = FileConfig::default();
        assert!(
            serve(
                Some("nope".into()),
                None,
                None,
                PathBuf::new(),
                &file,
                bootstrap()
            )
            .is_err()
        );
        assert!(
            serve(
                None,
                Some(vec!["US EAST".into()]),
                None,
                PathBuf::new(),
                &file,
                bootstrap()
            )
            .is_err()
        );
        assert!(toml::from_str::<FileConfig>("unknown = 1").is_err());
    }
}
