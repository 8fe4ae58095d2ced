//! Builds the example guests (`guest/`) and the test guests (`tests/guests/`)
//! for wasm32-wasip2 with a nested `cargo build`, and writes their paths as
//! constants into `$OUT_DIR/artifacts.rs` (see `src/lib.rs`).
//!
//! Why nested: the guests are their own cargo workspaces, for another target
//! and with their own profile (LTO, abort on panic); the outer target
//! directory is locked by the outer cargo, so they build under `OUT_DIR`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A guest workspace to build.
struct Workspace {
    /// Its directory, relative to the repository root.
    dir: &'static str,
    /// Where its member crates live, relative to `dir`. A member's package
    /// name is its directory's name.
    members: &'static [&'static str],
    /// What else its guests are built from, relative to the repository
    /// root: a change there builds them again.
    inputs: &'static [&'static str],
}

const WORKSPACES: &[Workspace] = &[
    Workspace {
        dir: "guest",
        members: &["examples"],
        inputs: &["wit", "guest/sdk"],
    },
    Workspace {
        dir: "tests/guests",
        members: &["."],
        inputs: &["wit", "guest/sdk"],
    },
];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .expect("repository root");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    // One target directory for both workspaces: they share the SDK and
    // wit-bindgen, which then build once.
    let target_dir = out_dir.join("wasm-target");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let mut artifacts = Vec::new();
    for Workspace {
        dir,
        members: member_dirs,
        inputs,
    } in WORKSPACES
    {
        let workspace = root.join(dir);
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join("Cargo.toml").display()
        );
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join("Cargo.lock").display()
        );
        let mut members = Vec::new();
        for dir in *member_dirs {
            members.extend(crates_in(&workspace.join(dir)));
        }
        for input in *inputs {
            watch(&root.join(input));
        }
        for member in &members {
            watch(member);
        }

        let mut build = Command::new(&cargo);
        clean_env(&mut build);
        build
            .current_dir(&root)
            .args([
                "build",
                "--release",
                "--locked",
                "--target",
                "wasm32-wasip2",
            ])
            .arg("--manifest-path")
            .arg(workspace.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target_dir);
        let status = build.status().expect("run cargo for the guests");
        assert!(
            status.success(),
            "building the guests in {} failed",
            workspace.display()
        );

        for member in members {
            let name = member.file_name().unwrap().to_string_lossy().into_owned();
            let wasm = target_dir
                .join("wasm32-wasip2/release")
                .join(format!("{}.wasm", name.replace('-', "_")));
            assert!(
                wasm.is_file(),
                "{} was not built (is {name} a cdylib?)",
                wasm.display()
            );
            artifacts.push((name, wasm));
        }
    }

    let mut code = String::new();
    for (name, wasm) in &artifacts {
        let constant = name.to_uppercase().replace('-', "_");
        writeln!(code, "/// `{name}`: the compiled component.").unwrap();
        writeln!(
            code,
            "pub const {constant}: &str = {:?};",
            wasm.display().to_string()
        )
        .unwrap();
    }
    fs::write(out_dir.join("artifacts.rs"), code).expect("write artifacts.rs");
}

/// The crate directories (those with a `Cargo.toml`) directly under `dir`.
fn crates_in(dir: &Path) -> Vec<PathBuf> {
    let mut crates: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.join("Cargo.toml").is_file() && path.join("src").is_dir())
        .collect();
    crates.sort();
    crates
}

/// Reruns this script when anything under `dir` changes, except build
/// output: watching a `target/` directory would rebuild on every build.
fn watch(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "target") {
            watch(&path);
        } else if path.is_file() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// Drops what the outer cargo set for this build script and what would
/// leak the host's build settings into the guests' build: flags for the
/// host target, a forced target, the clippy wrapper, the profile.
fn clean_env(cmd: &mut Command) {
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        // Kept: where crates are cached and fetched from, and the jobserver
        // (so the nested build shares the outer build's CPU budget).
        let keep = matches!(key, "CARGO_HOME" | "CARGO_MAKEFLAGS")
            || key.starts_with("CARGO_NET_")
            || key.starts_with("CARGO_HTTP_")
            || key.starts_with("CARGO_REGISTRIES_")
            || key.starts_with("CARGO_REGISTRY_");
        let drop = (key.starts_with("CARGO_") && !keep)
            || matches!(
                key,
                "RUSTFLAGS"
                    | "RUSTDOCFLAGS"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "TARGET"
                    | "HOST"
                    | "OUT_DIR"
                    | "OPT_LEVEL"
                    | "PROFILE"
                    | "DEBUG"
            );
        if drop {
            cmd.env_remove(key);
        }
    }
}
