//! Build facts for the `gatehouse` binary.
//!
//! - `BUILT_FROM_COMMIT`: the git commit the binary is built from, shown by `--version`. A build
//!   outside a git checkout (a source tarball) takes it from the `BUILT_FROM_COMMIT` environment
//!   variable, or says `unknown`. (Not a `GATEHOUSE_` name: cargo also sets it when it runs the
//!   binary's tests, and the server refuses unknown `GATEHOUSE_` variables.)
//! - Relative relocations are packed (`DT_RELR`, glibc 2.36 or later): the loader then reads a
//!   few kilobytes at start instead of a megabyte of relocation entries, which stayed resident.
//! - A release build linked by the toolchain's bundled LLD lays the functions that a start runs
//!   (`startup-symbols.txt`, made by `gatehouse-bench startup-code`) side by side at the front of
//!   the code. The kernel maps a block of the file around each code page touched, so start-up
//!   code spread over the whole binary kept most of it resident at rest. Symbols the list names
//!   that the build no longer has are skipped; a stale list costs memory, never correctness.

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

    let order = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("startup-symbols.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    if release && links_with_bundled_lld(&target) {
        if let Ok(listed) = std::fs::read_to_string(&order) {
            let out =
                std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
            let (symbols, script) = startup_layout(&listed);
            let (symbols_file, script_file) = (
                out.join("startup-order.txt"),
                out.join("startup-sections.ld"),
            );
            std::fs::write(&symbols_file, symbols).expect("OUT_DIR is writable");
            std::fs::write(&script_file, script).expect("OUT_DIR is writable");
            println!(
                "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
                symbols_file.display()
            );
            println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
            println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script_file.display());
        }
    }
}

/// Splits the start-up list into the linker's symbol-ordering file (exact names) and a script
/// for the functions whose names end in ThinLTO's `.llvm.<module hash>`: that suffix changes
/// whenever the code of its module does, so those are listed as `NAME.llvm.*` and matched by
/// their function section's name. Both land at the front of the one `.text` (the rest of the
/// code follows them there), which is also where profilers look for function names.
fn startup_layout(listed: &str) -> (String, String) {
    let mut symbols = String::new();
    let mut script = String::from("SECTIONS\n{\n  .text :\n  {\n");
    for line in listed.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.ends_with(".llvm.*") {
            // Cold functions (`#[cold]`, panics) sit in `.text.unlikely.` sections.
            script.push_str(&format!("    *(.text.{line} .text.unlikely.{line})\n"));
        } else {
            symbols.push_str(line);
            symbols.push('\n');
        }
    }
    script.push_str("  }\n}\nINSERT BEFORE .init;\n");
    (symbols, script)
}

/// Whether the binary is linked by the LLD that the toolchain bundles: the default on x86-64
/// Linux (GNU) since Rust 1.90, below this crate's `rust-version`, unless the build names
/// another linker (GNU ld does not know `--symbol-ordering-file`).
fn links_with_bundled_lld(target: &str) -> bool {
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    target == "x86_64-unknown-linux-gnu"
        && std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_none()
        && !["linker", "link-self-contained", "fuse-ld"]
            .iter()
            .any(|flag| flags.contains(flag))
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
