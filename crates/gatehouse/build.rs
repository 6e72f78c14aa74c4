//! Build facts for the `gatehouse` binary.
//!
//! - `BUILT_FROM_COMMIT`: the git commit the binary is built from, shown by `--version`. A build
//!   outside a git checkout (a source tarball) takes it from the `BUILT_FROM_COMMIT` environment
//!   variable, or says `unknown`. (Not a `GATEHOUSE_` name: cargo also sets it when it runs the
//!   binary's tests, and the server refuses unknown `GATEHOUSE_` variables.)
//! - Relative relocations are packed (`DT_RELR`, glibc 2.36 or later): the loader then reads a
//!   few kilobytes at start instead of a megabyte of relocation entries, which stayed resident.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=BUILT_FROM_COMMIT");
    let commit = std::env::var("BUILT_FROM_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=BUILT_FROM_COMMIT={commit}");

    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-linux-gnu") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The checked-out commit, with `-modified` when tracked files differ from it.
fn git_commit() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git").args(args).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Rebuild when HEAD moves: its file, the branch it names, and packed refs.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/packed-refs");
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{branch}");
        }
        println!("cargo:rerun-if-changed={dir}/index");
    }
    let modified = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    Some(if modified {
        format!("{commit}-modified")
    } else {
        commit
    })
}
