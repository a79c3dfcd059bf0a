//! What the user gave, checked before the first case runs: the
//! `--expect` file, the output paths (`--junit`, `--transcript`) and the
//! case selection (`--only`, `--skip`). Each problem is one line saying
//! what is wrong and what to do (the CLI's exit 2). Nothing is left on
//! disk by the checks.

use std::fs::OpenOptions;
use std::path::Path;

use crate::case::{selected, CaseInfo, Suite};
use crate::expectations::{self, Expectations};
#[cfg(feature = "cli")]
use crate::output::RunArgs;
use crate::suggest::nearest_pattern;
use fcgi_proto::requirement::Section;

/// What the checks found good to use.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// The parsed `--expect` file.
    pub expectations: Option<Expectations>,
    /// How many cases the selection runs (per repeat).
    pub selected: usize,
}

/// Checks every user input of a run of `suite` whose case table is `cases`.
#[cfg(feature = "cli")]
pub fn check(args: &RunArgs, suite: Suite, cases: &[CaseInfo]) -> Result<Checked, String> {
    let expectations = match &args.expect {
        Some(p) => Some(expectations::load(p, suite.name(), cases)?),
        None => None,
    };
    for (p, flag) in [
        (&args.junit, "--junit"),
        (&args.json, "--json"),
        (&args.html, "--html"),
    ] {
        if let Some(p) = p {
            check_file(p, flag)?;
        }
    }
    if let Some(p) = &args.transcript {
        check_dir(p, "--transcript")?;
    }
    let selected = check_selection(suite.name(), cases, &args.only, &args.skip)?;
    Ok(Checked {
        expectations,
        selected,
    })
}

/// Creates then removes a probe file in `dir`: the one sure test that
/// files can be made there (permissions, read-only mounts, ACLs).
fn probe_dir(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".fcgi-conformance-probe-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

/// The file `path` can be written: its directory exists, and it is
/// writable if it exists or can be created if not.
pub fn check_file(path: &Path, flag: &str) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("{flag} {shown} is a directory: give a file path"));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!(
            "{flag} {shown}: the directory {} does not exist (create it, or give another path)",
            parent.display()
        ));
    }
    let result = if path.exists() {
        // Opened without truncating: the old report stays until the new one is ready.
        OpenOptions::new().append(true).open(path).map(drop)
    } else {
        probe_dir(parent)
    };
    result.map_err(|e| format!("{flag} {shown}: cannot write it: {e} (give a writable path)"))
}

/// The directory `path` exists and takes files, or can be created: the
/// nearest existing ancestor is a writable directory.
pub fn check_dir(path: &Path, flag: &str) -> Result<(), String> {
    let shown = path.display();
    let mut at = path;
    loop {
        if at.exists() {
            break;
        }
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => {
                at = Path::new(".");
                break;
            }
        }
    }
    if !at.is_dir() {
        return Err(if at == path {
            format!("{flag} {shown} is an existing file: give a directory (created if missing)")
        } else {
            format!(
                "{flag} {shown}: {} is a file, so the directory cannot be created (give another path)",
                at.display()
            )
        });
    }
    probe_dir(at).map_err(|e| {
        format!(
            "{flag} {shown}: cannot write in {}: {e} (give a writable directory)",
            at.display()
        )
    })
}

/// The number of cases `--only`/`--skip` select; none is an error naming
/// the nearest ids and the sections there are.
pub fn check_selection(
    suite: &str,
    cases: &[CaseInfo],
    only: &[String],
    skip: &[String],
) -> Result<usize, String> {
    let n = cases.iter().filter(|c| selected(c.id, only, skip)).count();
    if n > 0 {
        return Ok(n);
    }
    let ids: Vec<&str> = cases.iter().map(|c| c.id).collect();
    let by_only = cases.iter().filter(|c| selected(c.id, only, &[])).count();
    let flags = |flag: &str, pats: &[String]| {
        pats.iter()
            .map(|p| format!("{flag} '{p}'"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if by_only == 0 {
        let mut sections: Vec<Section> = cases.iter().map(|c| c.section).collect();
        sections.sort();
        sections.dedup();
        let sections: Vec<&str> = sections.iter().map(|s| s.short()).collect();
        let hints: Vec<String> = only
            .iter()
            .filter_map(|p| nearest_pattern(p, &ids))
            .map(|h| format!("'{h}'"))
            .collect();
        let hint = if hints.is_empty() {
            String::new()
        } else {
            format!("did you mean {}? ", hints.join(" or "))
        };
        return Err(format!(
            "{} selects no {suite} case; {hint}sections: {} (`fcgi-conformance list {suite}` shows the ids)",
            flags("--only", only),
            sections.join(", ")
        ));
    }
    Err(format!(
        "{} leaves none of the {by_only} {suite} cases selected (drop or narrow --skip)",
        flags("--skip", skip)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<CaseInfo> {
        [
            ("app/4.1/get-values", Section::S4_1),
            ("app/5.4/abort", Section::S5_4),
        ]
        .into_iter()
        .map(|(id, section)| CaseInfo {
            id,
            title: "",
            section,
            requirements: &[],
            expects: "",
        })
        .collect()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_selection_of_nothing_names_what_there_is() {
        let t = table();
        assert_eq!(check_selection("app", &t, &s(&["4.1"]), &[]), Ok(1));
        let e = check_selection("app", &t, &s(&["nomatch"]), &[]).unwrap_err();
        assert!(e.contains("--only 'nomatch' selects no app case"), "{e}");
        assert!(e.contains("sections: 4.1, 5.4"), "{e}");
        let e = check_selection("app", &t, &s(&["get-valeus"]), &[]).unwrap_err();
        assert!(e.contains("did you mean 'get-values'?"), "{e}");
        let e = check_selection("app", &t, &s(&["app/4"]), &s(&["get"])).unwrap_err();
        assert!(
            e.contains("--skip 'get' leaves none of the 1 app cases"),
            "{e}"
        );
        let e = check_selection("app", &t, &[], &s(&["app/"])).unwrap_err();
        assert!(e.contains("leaves none of the 2"), "{e}");
    }

    #[test]
    fn output_paths_are_checked_without_leaving_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let d = dir.path();
        let file = d.join("a-file");
        std::fs::write(&file, "keep").unwrap_or_else(|e| panic!("{e}"));
        assert!(check_file(&d.join("junit.xml"), "--junit").is_ok());
        assert!(check_file(&file, "--junit").is_ok());
        assert_eq!(std::fs::read_to_string(&file).ok().as_deref(), Some("keep"));
        let e = check_file(&d.join("no/junit.xml"), "--junit").unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        let e = check_file(d, "--junit").unwrap_err();
        assert!(e.contains("is a directory"), "{e}");
        assert!(check_dir(&d.join("t/u"), "--transcript").is_ok());
        assert!(check_dir(d, "--transcript").is_ok());
        let e = check_dir(&file, "--transcript").unwrap_err();
        assert!(e.contains("is an existing file"), "{e}");
        let e = check_dir(&file.join("sub"), "--transcript").unwrap_err();
        assert!(e.contains("is a file"), "{e}");
        // Nothing was created by the checks.
        let left: Vec<_> = std::fs::read_dir(d)
            .map(|r| r.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(left, vec![std::ffi::OsString::from("a-file")]);
    }
}
