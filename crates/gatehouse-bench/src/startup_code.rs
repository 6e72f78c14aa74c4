//! `gatehouse-bench startup-code [SERVER] [--out FILE]`: lists the functions of the server's own
//! binary that a first start, its warm-up token request and the idle time after it run, and
//! then a second start over the same data (what every restart is), as the linker's
//! symbol-ordering file (`crates/gatehouse/startup-symbols.txt`). The idle time is that of the
//! `memory` benchmark's idle readings, long enough for each background loop to run once.
//!
//! Why: the kernel maps a block of the executable around each code page a process touches, so
//! a start that runs a little of every crate keeps most of the binary resident. A release build
//! on the bundled LLD lays the listed functions side by side at the front of the code
//! (`crates/gatehouse/build.rs`), and the start touches a few contiguous megabytes instead.
//!
//! How: the server runs under valgrind's callgrind, which records every function executed.
//! Valgrind's virtual CPU lacks AVX-512 and VAES, so the cryptography libraries take other
//! branches there than on the machine itself (aws-lc's RSA, ring's AES-GCM); the same journey
//! then runs natively under `perf`, counting page faults, and each function whose first
//! instruction fetch faulted is added. A fault maps its neighbours too, so functions that ran
//! only natively and sat next to one another show one at a time: a few rounds of build and
//! run find them all, and the command says how many each round added. The
//! symbols' hashes follow the build (compiler, dependency versions, profile), not the source;
//! the module hash ThinLTO appends to some names does follow the source, so the list leaves it
//! out (`NAME.llvm.*`). The list thus holds through code changes; after a toolchain or
//! dependency update, run this again (the `memory` benchmark prints how many of the listed
//! names the binary still has).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::memory::IDLE_AFTER;
use crate::{http_token_status, start_server_under, wait_for_discovery_within};

/// Under callgrind the start is some fifty times slower.
const START_LIMIT: Duration = Duration::from_secs(600);

/// The default place of the ordering file, relative to the repository root.
pub const ORDER_FILE: &str = "crates/gatehouse/startup-symbols.txt";

pub fn run(server: &Path, out: &Path) -> Result<(), String> {
    if !server.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p gatehouse`",
            server.display()
        ));
    }
    let server = server
        .canonicalize()
        .map_err(|e| format!("cannot find {}: {e}", server.display()))?;
    let scratch =
        std::env::temp_dir().join(format!("gatehouse-bench-startup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let data_dir = scratch.join("data");
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    let profiles =
        profile(&server, &data_dir, &scratch.join("first.callgrind")).and_then(|first| {
            let second = profile(&server, &data_dir, &scratch.join("second.callgrind"))?;
            Ok([first, second])
        });
    let result = profiles.and_then(|profiles| {
        let defined = defined_symbols(&server)?;
        let executed: Vec<String> = profiles
            .iter()
            .flat_map(|profile| executed_functions(profile, &server))
            .collect();
        // Sorted: only being together matters to the layout, and a list made anew then
        // differs from the last one by what changed.
        let listed: BTreeSet<String> = executed
            .iter()
            .filter(|name| defined.contains_key(*name))
            .map(|name| stable_name(name))
            .collect();
        if listed.is_empty() {
            return Err("the profile names none of the binary's symbols".to_owned());
        }
        let stable_defined: HashSet<String> = defined.keys().map(|n| stable_name(n)).collect();
        // What earlier rounds found natively, while the binary still has it.
        let previous: BTreeSet<String> = std::fs::read_to_string(out)
            .map(|text| native_section(&text))
            .unwrap_or_default()
            .into_iter()
            .filter(|name| stable_defined.contains(name))
            .collect();
        let seen = match native_run(&server, &scratch) {
            Ok(seen) => seen,
            Err(e) => {
                eprintln!("the native run was skipped ({e}): CPU-specific code is not added");
                Vec::new()
            }
        };
        let native: BTreeSet<String> = with_aliases(&seen, &defined)
            .iter()
            .map(|name| stable_name(name))
            .chain(previous.iter().cloned())
            .filter(|name| !listed.contains(name))
            .collect();
        let added = native.difference(&previous).count();
        std::fs::write(out, ordering_file(&listed, &native))
            .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        println!(
            "{} functions ran at the two starts under valgrind ({} of them in the binary's symbol table), {} more only natively ({} new in this round): written to {}",
            executed.iter().collect::<HashSet<_>>().len(),
            listed.len(),
            native.len(),
            added,
            out.display()
        );
        if added > 0 {
            println!(
                "build again (cargo build --release -p gatehouse) and run this again until a round adds none"
            );
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Runs a first and a second start natively under `perf`, recording each page fault, and
/// returns the functions of the server's binary whose own code a fault fetched.
fn native_run(server: &Path, scratch: &Path) -> Result<Vec<String>, String> {
    let data_dir = scratch.join("native");
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    let mut seen = Vec::new();
    for round in ["first", "second"] {
        let record = scratch.join(format!("{round}.perf"));
        let perf = [
            "perf".to_owned(),
            "record".to_owned(),
            "--quiet".to_owned(),
            "--event=page-faults".to_owned(),
            "--count=1".to_owned(),
            "--data".to_owned(),
            format!("--output={}", record.display()),
        ];
        journey(&perf, server, &data_dir)
            .map_err(|e| format!("{e} (is perf installed? `apt-get install linux-perf`)"))?;
        let output = Command::new("perf")
            .args([
                "script",
                "--no-demangle",
                "--fields=ip,sym,dso,addr",
                "--input",
            ])
            .arg(&record)
            .output()
            .map_err(|e| format!("cannot run perf script: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "perf script: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        seen.extend(fetched_functions(
            &String::from_utf8_lossy(&output.stdout),
            server,
        ));
    }
    Ok(seen)
}

/// The functions of `binary` whose code a fault fetched, from `perf script` lines holding the
/// faulting address and the instruction's, each with its symbol and object: an instruction
/// fetch faults at the address of the instruction itself.
fn fetched_functions(script: &str, binary: &Path) -> Vec<String> {
    let object = format!("({})", binary.display());
    let mut seen = HashSet::new();
    script
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [addr, name, dso, ip, _, _] if addr == ip && *dso == object => Some(*name),
                _ => None,
            }
        })
        .filter(|name| *name != "[unknown]" && seen.insert(*name))
        .map(str::to_owned)
        .collect()
}

/// Starts the server on `data_dir` under `wrapper`, waits for discovery, asks for one token,
/// leaves it idle as the `memory` benchmark does, and stops it with SIGTERM (which lets a
/// profiler write what it recorded).
fn journey(wrapper: &[String], server: &Path, data_dir: &Path) -> Result<(), String> {
    let started = Instant::now();
    let (mut child, addr) = start_server_under(wrapper, server, data_dir)?;
    let warmed = wait_for_discovery_within(&addr, started, START_LIMIT)
        .and_then(|_| http_token_status(&addr));
    if warmed.is_ok() {
        std::thread::sleep(IDLE_AFTER);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    match warmed {
        Ok(200) => Ok(()),
        other => Err(format!("the warm-up token request answered {other:?}")),
    }
}

/// Runs the server on `data_dir` under callgrind through its start, one token request and the
/// idle time of the `memory` benchmark, and returns the profile's text.
fn profile(server: &Path, data_dir: &Path, out: &Path) -> Result<String, String> {
    let valgrind = [
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        "--demangle=no".to_owned(),
        "--compress-strings=no".to_owned(),
        "--compress-pos=no".to_owned(),
        "--dump-line=no".to_owned(),
        format!("--callgrind-out-file={}", out.display()),
        format!("--log-file={}.log", out.display()),
    ];
    journey(&valgrind, server, data_dir)
        .map_err(|e| format!("{e} (is valgrind installed? `apt-get install valgrind`)"))?;
    std::fs::read_to_string(out).map_err(|e| format!("no profile at {}: {e}", out.display()))
}

/// The functions of `binary` that `profile` (callgrind's uncompressed output) saw run, each once,
/// in the order the profile first names them.
fn executed_functions(profile: &str, binary: &Path) -> Vec<String> {
    let binary = binary.to_string_lossy();
    let mut in_binary = false;
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for line in profile.lines() {
        if let Some(object) = line.strip_prefix("ob=") {
            in_binary = object == binary;
        } else if let Some(name) = line.strip_prefix("fn=") {
            if in_binary && seen.insert(name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// `name` as the list holds it: ThinLTO names a function it made visible across its modules
/// `NAME.llvm.<hash of the module>`, and that hash changes with any code of the module, so the
/// list keeps `NAME.llvm.*` (matched by section name at link time).
fn stable_name(name: &str) -> String {
    match name.find(".llvm.") {
        Some(at) => format!("{}.llvm.*", &name[..at]),
        None => name.to_owned(),
    }
}

/// The names of the functions and data `binary` defines, each with its address (its symbol
/// table, read by `nm`).
fn defined_symbols(binary: &Path) -> Result<HashMap<String, u64>, String> {
    let output = Command::new("nm")
        .arg("--defined-only")
        .arg(binary)
        .output()
        .map_err(|e| format!("cannot run nm (binutils): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "nm {}: {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(symbol_names(&String::from_utf8_lossy(&output.stdout)))
}

/// The names in `nm` output (`address type name` per line), each with its address.
fn symbol_names(nm: &str) -> HashMap<String, u64> {
    nm.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = u64::from_str_radix(fields.next()?, 16).ok()?;
            Some((fields.nth(1)?.to_owned(), address))
        })
        .collect()
}

/// Each of `names` with every other name of the same code: the compiler merges identical
/// functions and keeps one under several names, and the code moves with the name of the one
/// kept, which is not always the name a profiler reports.
fn with_aliases(names: &[String], defined: &HashMap<String, u64>) -> Vec<String> {
    let wanted: HashSet<u64> = names
        .iter()
        .filter_map(|n| defined.get(n))
        .copied()
        .collect();
    defined
        .iter()
        .filter(|(_, address)| wanted.contains(address))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The line that opens the list's second part: the functions only the native run saw.
const NATIVE_HEADING: &str =
    "# Ran only natively (code for this CPU that valgrind does not take), kept while the binary has them:";

fn ordering_file(symbols: &BTreeSet<String>, native: &BTreeSet<String>) -> String {
    let mut text = String::from(
        "# The functions a first start, its warm-up token request, its idle time and a second\n\
         # start run, laid first in the code of a release build (crates/gatehouse/build.rs);\n\
         # `NAME.llvm.*` stands for a function ThinLTO renamed with its module's hash. Made by\n\
         # `gatehouse-bench startup-code`: run it again after a toolchain or dependency update,\n\
         # or when `memory` reports names missing.\n",
    );
    for symbol in symbols {
        text.push_str(symbol);
        text.push('\n');
    }
    text.push_str(NATIVE_HEADING);
    text.push('\n');
    for symbol in native {
        text.push_str(symbol);
        text.push('\n');
    }
    text
}

/// The names listed after [`NATIVE_HEADING`] in an ordering file.
fn native_section(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .skip_while(|line| *line != NATIVE_HEADING)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// How many of the symbols listed in the ordering file at `order` the binary at `binary`
/// defines: `(found, listed)`, or `None` when either cannot be read.
pub fn coverage(order: &Path, binary: &Path) -> Option<(usize, usize)> {
    let listed: Vec<String> = std::fs::read_to_string(order)
        .ok()?
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let defined = defined_symbols(binary).ok()?;
    let stable: HashSet<String> = defined.keys().map(|name| stable_name(name)).collect();
    let found = listed.iter().filter(|name| stable.contains(*name)).count();
    Some((found, listed.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_binarys_functions_are_taken_once_each_in_first_seen_order() {
        let profile = "\
version: 1
ob=/usr/lib/x86_64-linux-gnu/libc.so.6
fn=malloc
ob=/srv/gatehouse
fn=_ZN4main17h0123456789abcdefE
calls=1 0
cob=/usr/lib/x86_64-linux-gnu/libc.so.6
cfn=malloc
fn=_ZN5setup17h1111111111111111E
ob=/usr/lib/x86_64-linux-gnu/libc.so.6
fn=free
ob=/srv/gatehouse
fn=_ZN4main17h0123456789abcdefE
";
        assert_eq!(
            executed_functions(profile, Path::new("/srv/gatehouse")),
            [
                "_ZN4main17h0123456789abcdefE",
                "_ZN5setup17h1111111111111111E"
            ]
        );
    }

    #[test]
    fn nm_lines_give_their_names() {
        let names = symbol_names(
            "0000000000012340 T _ZN4main17h0123456789abcdefE\n\
             0000000000012400 t helper\n\
             \n",
        );
        assert_eq!(names["_ZN4main17h0123456789abcdefE"], 0x12340);
        assert_eq!(names["helper"], 0x12400);
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn a_merged_function_brings_every_name_of_its_code() {
        let defined = symbol_names(
            "0000000000012340 t _ZN4fips17h0123456789abcdefE.llvm.1\n\
             0000000000012340 t _ZN10is_enabled17h1111111111111111E\n\
             0000000000012400 t other\n",
        );
        let mut names = with_aliases(
            &["_ZN4fips17h0123456789abcdefE.llvm.1".to_owned()],
            &defined,
        );
        names.sort();
        assert_eq!(
            names,
            [
                "_ZN10is_enabled17h1111111111111111E",
                "_ZN4fips17h0123456789abcdefE.llvm.1"
            ]
        );
    }

    #[test]
    fn a_name_thinlto_made_visible_is_kept_without_its_module_hash() {
        assert_eq!(
            stable_name("_ZN4main17h0123456789abcdefE.llvm.14999853910158849138"),
            "_ZN4main17h0123456789abcdefE.llvm.*"
        );
        assert_eq!(
            stable_name("_ZN4main17h0123456789abcdefE"),
            "_ZN4main17h0123456789abcdefE"
        );
    }

    #[test]
    fn the_file_is_comments_then_one_symbol_a_line_and_the_native_part_reads_back() {
        let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        let text = ordering_file(&set(&["a", "b"]), &set(&["c"]));
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(lines, ["a", "b", "c"]);
        assert_eq!(native_section(&text), ["c"]);
        assert!(native_section("# header\na\nb\n").is_empty());
    }

    #[test]
    fn only_instruction_fetches_in_the_binary_count() {
        let script = "\
    55d0c4bd30 __TMC_END__ (/srv/gatehouse) ffffffff8177df1a elf_load ([kernel.kallsyms])
    55d0a0b040 _ZN4main17h0123456789abcdefE (/srv/gatehouse)     55d0a0b040 _ZN4main17h0123456789abcdefE (/srv/gatehouse)
    7f9ac995b6a8 dl_main (/usr/lib/ld.so)     7f9ac995b6a8 dl_main (/usr/lib/ld.so)
    55d0a0c000 [unknown] (/srv/gatehouse)     55d0a0c000 [unknown] (/srv/gatehouse)
    55d0a0b040 _ZN4main17h0123456789abcdefE (/srv/gatehouse)     55d0a0b040 _ZN4main17h0123456789abcdefE (/srv/gatehouse)
";
        assert_eq!(
            fetched_functions(script, Path::new("/srv/gatehouse")),
            ["_ZN4main17h0123456789abcdefE"]
        );
    }
}
