//! Compiled components on disk, so that a restart does not compile again.
//!
//! Layout: `<dir>/<engine key>/<sha256 of the component>.cwasm`. The engine
//! key is the sha256 of [`Engine::precompile_compatibility_hash`] (wasmtime
//! version, target, settings): code compiled by another engine is never
//! looked at, it is in another directory, and opening the cache deletes
//! the directories of other engines (an upgrade leaves them behind).

use std::fs;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::error::LoadError;

/// A directory of compiled components for one engine configuration.
#[derive(Debug)]
pub struct ComponentCache {
    dir: PathBuf,
    compiled: AtomicU64,
    loaded: AtomicU64,
}

impl ComponentCache {
    /// The cache under `root` (for example `<data dir>/wasm-cache`) for
    /// `engine`; creates the directory. Entries of other engines (other
    /// wasmtime versions or settings) and temporary files left by a crash
    /// are deleted: nothing would ever read them.
    pub fn open(root: &Path, engine: &Engine) -> io::Result<Self> {
        let mut key = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut key);
        let dir = root.join(hex(&key.0.finalize()));
        fs::create_dir_all(&dir)?;
        prune(root, &dir);
        Ok(ComponentCache {
            dir,
            compiled: AtomicU64::new(0),
            loaded: AtomicU64::new(0),
        })
    }

    /// The directory this engine's entries live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Components compiled by this cache since it was opened.
    pub fn compilations(&self) -> u64 {
        self.compiled.load(Ordering::Relaxed)
    }

    /// Components loaded from disk without compiling.
    pub fn hits(&self) -> u64 {
        self.loaded.load(Ordering::Relaxed)
    }

    /// The component for `bytes` (whose sha256 is `hash`): from disk when
    /// this cache wrote it before, else compiled and written.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        hash: &str,
    ) -> Result<Component, LoadError> {
        let path = self.dir.join(format!("{hash}.cwasm"));
        if path.is_file() {
            match deserialize_own_file(engine, &path) {
                Ok(component) => {
                    self.loaded.fetch_add(1, Ordering::Relaxed);
                    return Ok(component);
                }
                // Truncated by a crash, or otherwise unusable: compile again
                // and overwrite it.
                Err(e) => {
                    tracing::warn!(path = %path.display(), "discarding cached component: {e:#}")
                }
            }
        }
        let component = compile(engine, bytes)?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        // Failing to write the cache costs a compilation at the next start,
        // nothing more: the component is good, so it is returned anyway.
        if let Err(e) = self.store(&component, &path) {
            tracing::warn!(path = %path.display(), "could not cache compiled component: {e:#}");
        }
        Ok(component)
    }

    /// Writes compiled code to a temporary file of its own, then renames it
    /// into place: a reader never sees half a file, and two threads (or
    /// processes) compiling the same component do not write into one file.
    fn store(&self, component: &Component, path: &Path) -> wasmtime::Result<()> {
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let code = component.serialize()?;
        let tmp = path.with_extension(format!(
            "{}-{}.tmp",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        let written = fs::write(&tmp, &code).and_then(|()| fs::rename(&tmp, path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        Ok(written?)
    }
}

/// Compiles (and validates) a component.
pub(crate) fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, bytes).map_err(|e| LoadError::Invalid(format!("{e:#}")))
}

/// The sha256 of `bytes`, in lowercase hex: a component's identity.
pub(crate) fn content_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// Feeds what a [`Hash`] writes into sha256. Unlike `DefaultHasher`, whose
/// algorithm may change with any Rust release (and with it every cache
/// directory's name), sha256 gives the same key for the same engine
/// whatever compiled the service.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Not what the key is made of (that is the whole digest), but a
    /// `Hasher` must answer.
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("sha256 has 32 bytes"))
    }
}

/// Deletes what no one will read under `root`: the directories of other
/// engines (named by a hex key: 64 digits, or 16 before keys were sha256),
/// and the temporary files of writes a crash interrupted in `dir`. Only
/// one service uses a data directory, and nothing is being written while
/// it opens its cache. Failures are logged, not fatal: the cache works
/// all the same.
fn prune(root: &Path, dir: &Path) {
    let is_engine_key =
        |name: &str| matches!(name.len(), 16 | 64) && name.bytes().all(|b| b.is_ascii_hexdigit());
    let mut doomed = Vec::new();
    for entry in fs::read_dir(root).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let is_other_engine = path != dir
            && entry.file_type().is_ok_and(|t| t.is_dir())
            && name.to_str().is_some_and(is_engine_key);
        if is_other_engine {
            doomed.push(path);
        }
    }
    for path in doomed {
        if let Err(e) = fs::remove_dir_all(&path) {
            tracing::warn!(path = %path.display(), "could not delete another engine's cache: {e}");
        }
    }
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "tmp")
            && let Err(e) = fs::remove_file(&path)
        {
            tracing::warn!(path = %path.display(), "could not delete a temporary file: {e}");
        }
    }
}

#[allow(unsafe_code)]
fn deserialize_own_file(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: deserializing runs the machine code in the file, so it must be
    // code wasmtime compiled. This file is: it is in this cache's directory
    // under the data dir, named by the sha256 of the component it was
    // compiled from, and only `store` writes there (write a file of its own,
    // then rename). The directory name pins the engine configuration, and
    // wasmtime checks the file's header against this engine besides.
    unsafe { Component::deserialize_file(engine, path) }
}
