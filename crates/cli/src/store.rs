//! [`FileStore`]: core's [`KvStore`] as one file per key under a state directory.
//!
//! * A key's `/`-separated segments become nested directories; each segment is
//!   percent-encoded (anything but `A-Z a-z 0-9 - _ .`, and a leading `.`), so no key can
//!   escape the directory or collide with another.
//! * Writes are atomic: a temporary file in the same directory (mode 0600), then a rename.
//! * Directories are created with mode 0700. Temporary files start with `.` and are never listed.

use async_trait::async_trait;
use msync_core::store::{KvStore, StoreError};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct FileStore {
    root: PathBuf,
}

/// A site's process lock (see [`FileStore::lock_site`]); released on drop.
#[derive(Debug)]
pub struct SiteLock {
    _file: std::fs::File,
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Every byte but `A-Z a-z 0-9 - _ .` (a leading `.` is encoded apart: see [`encode_segment`]).
const FILE_NAME: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

fn encode_segment(seg: &str) -> String {
    match seg.strip_prefix('.') {
        // No file name starts with `.` (no `.`/`..`, nothing hidden).
        Some(rest) => format!("%2E{}", utf8_percent_encode(rest, FILE_NAME)),
        None if seg.is_empty() => "%".to_string(),
        None => utf8_percent_encode(seg, FILE_NAME).to_string(),
    }
}

/// The key segment a file name stands for; `None` for a name this store did not write (a bad
/// escape, or not UTF-8 once decoded).
fn decode_segment(seg: &str) -> Option<String> {
    if seg == "%" {
        return Some(String::new());
    }
    // `percent_decode_str` passes a malformed escape through as it is; this store never writes one.
    let malformed = seg.match_indices('%').any(|(i, _)| {
        seg.get(i + 1..i + 3)
            .is_none_or(|h| !h.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    if malformed {
        return None;
    }
    percent_decode_str(seg)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

fn err(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError(format!("{what} {}: {e}", path.display()))
}

impl FileStore {
    /// A store rooted at `root` (created with mode 0700 if missing).
    pub fn open(root: impl Into<PathBuf>) -> Result<FileStore, StoreError> {
        let root = root.into();
        create_dir(&root)?;
        Ok(FileStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Tighten a root that group or others can reach to 0700 (it was created so, but may have
    /// been made by hand or an older tool): run history and snapshots name every channel and
    /// model. Returns the mode it had when it was changed.
    pub fn make_private(&self) -> Result<Option<u32>, StoreError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta =
                std::fs::metadata(&self.root).map_err(|e| err("cannot inspect", &self.root, e))?;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| err("cannot set the mode of", &self.root, e))?;
                return Ok(Some(mode));
            }
        }
        Ok(None)
    }

    /// Take the site's process lock: held until the returned guard is dropped (or the process
    /// ends, whatever way). `Ok(None)` when another process holds it. It closes the gap between
    /// two `msync` processes (cron and a shell, say) both reading the engine's run lock as free
    /// and both starting a run; the engine's own lock still covers runs interrupted earlier.
    pub fn lock_site(&self, site: &str) -> Result<Option<SiteLock>, StoreError> {
        let dir = self.root.join(".locks");
        create_dir(&dir)?;
        let path = dir.join(format!("{}.lock", encode_segment(site)));
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&path).map_err(|e| err("cannot open", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(SiteLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(err("cannot lock", &path, e)),
        }
    }

    fn path_of(&self, key: &str) -> PathBuf {
        let mut p = self.root.clone();
        for seg in key.split('/') {
            p.push(encode_segment(seg));
        }
        p
    }

    /// Every key under `dir` (whose key prefix is `prefix`, ending in `/` or empty).
    fn walk(&self, dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), StoreError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(err("cannot list", dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| err("cannot list", dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') {
                continue;
            }
            let Some(seg) = decode_segment(name) else {
                continue;
            };
            let ft = entry.file_type().map_err(|e| err("cannot list", dir, e))?;
            if ft.is_dir() {
                self.walk(&entry.path(), &format!("{prefix}{seg}/"), out)?;
            } else if ft.is_file() {
                out.push(format!("{prefix}{seg}"));
            }
        }
        Ok(())
    }
}

fn create_dir(dir: &Path) -> Result<(), StoreError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| err("cannot create", dir, e))
}

#[async_trait(?Send)]
impl KvStore for FileStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let p = self.path_of(key);
        match std::fs::read_to_string(&p) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            // A directory at this key's path means the key itself is absent.
            Err(_) if p.is_dir() => Ok(None),
            Err(e) => Err(err("cannot read", &p, e)),
        }
    }

    async fn set(&self, key: &str, value: String) -> Result<(), StoreError> {
        let p = self.path_of(key);
        let dir = p.parent().unwrap_or(&self.root).to_path_buf();
        create_dir(&dir)?;
        let tmp = dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let write = || -> std::io::Result<()> {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            f.write_all(value.as_bytes())?;
            f.sync_data()?;
            drop(f);
            std::fs::rename(&tmp, &p)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err("cannot write", &p, e)
        })
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        let p = self.path_of(key);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(err("cannot remove", &p, e)),
        }
        // Tidy empty parent directories up to the root.
        let mut dir = p.parent();
        while let Some(d) = dir {
            if d == self.root || std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        // Walk the deepest directory the prefix names completely, then filter.
        let (dir_part, _) = prefix.rsplit_once('/').unwrap_or(("", prefix));
        let (dir, key_prefix) = if dir_part.is_empty() && !prefix.contains('/') {
            (self.root.clone(), String::new())
        } else {
            (self.path_of(dir_part), format!("{dir_part}/"))
        };
        let mut out = Vec::new();
        self.walk(&dir, &key_prefix, &mut out)?;
        out.retain(|k| k.starts_with(prefix));
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn site_locks_exclude_each_other_and_are_not_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path()).unwrap();
        let a = store.lock_site("a/b").unwrap().expect("free");
        assert!(store.lock_site("a/b").unwrap().is_none(), "held");
        let other = store.lock_site("c").unwrap();
        assert!(other.is_some(), "sites lock separately");
        drop(a);
        assert!(
            store.lock_site("a/b").unwrap().is_some(),
            "free again after drop"
        );
        assert!(
            block_on(store.keys("")).unwrap().is_empty(),
            "lock files are not keys"
        );
    }

    #[test]
    fn segments_round_trip() {
        for s in [
            "run",
            "0001-00ab",
            "gid:%2F%2Faxonhub",
            "..",
            ".hidden",
            "a b",
            "",
            "模型",
        ] {
            let e = encode_segment(s);
            assert!(!e.starts_with('.') && !e.contains('/'), "{s:?} -> {e}");
            assert_eq!(decode_segment(&e).as_deref(), Some(s));
        }
    }

    #[test]
    fn keys_values_and_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let st = FileStore::open(dir.path().join("state")).unwrap();
        block_on(async {
            st.set("sync/a/run/1/head", "h1".into()).await.unwrap();
            st.set("sync/a/run/1/item/x%2Fy", "i".into()).await.unwrap();
            st.set("sync/a/run/2/head", "h2".into()).await.unwrap();
            st.set("sync/ab/lock", "l".into()).await.unwrap();
            st.set("../escape", "no".into()).await.unwrap();
            assert_eq!(
                st.get("sync/a/run/1/head").await.unwrap().as_deref(),
                Some("h1")
            );
            assert_eq!(st.get("sync/a/run").await.unwrap(), None);
            assert_eq!(st.get("missing").await.unwrap(), None);
            assert_eq!(
                st.keys("sync/a/run/").await.unwrap(),
                vec![
                    "sync/a/run/1/head",
                    "sync/a/run/1/item/x%2Fy",
                    "sync/a/run/2/head"
                ]
            );
            assert_eq!(st.keys("sync/a").await.unwrap().len(), 4);
            assert_eq!(st.keys("").await.unwrap().len(), 5);
            st.set("sync/a/run/1/head", "h1b".into()).await.unwrap();
            assert_eq!(
                st.get("sync/a/run/1/head").await.unwrap().as_deref(),
                Some("h1b")
            );
            st.remove("sync/a/run/2/head").await.unwrap();
            st.remove("sync/a/run/2/head").await.unwrap();
            assert_eq!(st.keys("sync/a/run/").await.unwrap().len(), 2);
        });
        assert!(!dir.path().join("escape").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let f = st.path_of("sync/a/run/1/head");
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let mode = std::fs::metadata(st.root()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
    }
}
