//! The database holds password hashes and session digests: its file is readable by its owner
//! only. SQLite creates the `-wal` and `-shm` files with the database file's mode, so creating
//! that file `0600` first covers all three; files left wider by an older version are narrowed.

use std::path::{Path, PathBuf};

fn sidecars(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

/// Creates the database file `0600` if it is missing, and narrows it and its WAL/SHM to `0600`.
#[cfg(unix)]
pub fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    for file in sidecars(path) {
        match std::fs::metadata(&file) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn make_private(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_database_and_its_wal_and_shm_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qunzhu.db");
        let store = crate::SqliteStore::open(&path).unwrap();
        drop(store);
        let store = crate::SqliteStore::open(&path).unwrap();
        for file in sidecars(&path) {
            assert!(file.exists(), "{} exists while open", file.display());
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        drop(store);
        // A file an older version left world-readable is narrowed on the next open.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _store = crate::SqliteStore::open(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
