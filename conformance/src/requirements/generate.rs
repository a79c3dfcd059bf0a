//! Writes `fcgi-proto/src/requirement/ids.rs`, the codec's `Section` enum
//! and requirement constants, from `spec/requirements.toml` and the section
//! headings of `spec/fastcgi-1.0.md`. The file is committed (the packaged
//! codec builds without `spec/`); the `requirement_ids` test of this crate
//! compares it with what this module generates, and rewrites it when
//! `FCGI_WRITE_IDS=1` is set.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::Requirement;

/// Where the generated file lives, relative to the repository root.
pub const GENERATED: &str = "fcgi-proto/src/requirement/ids.rs";

/// The command that regenerates the file, as the file's header says.
pub const COMMAND: &str = "FCGI_WRITE_IDS=1 cargo test -p fcgi-conformance --test requirement_ids";

/// A numbered section or appendix heading of the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// `3.3`, `4`, `A`.
    pub short: String,
    /// The heading's words, e.g. `Records`.
    pub title: String,
}

/// The annotated spec's markdown under `spec_dir` (found by name, so that
/// moving the book's sources into a folder of their own needs no change
/// here).
pub fn spec_markdown(spec_dir: &Path) -> Result<PathBuf, String> {
    fn find(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                // `book/` is mdbook's output, a copy of the sources.
                if depth < 3 && p.file_name().is_some_and(|n| n != "book") {
                    find(&p, depth + 1, out);
                }
            } else if p.file_name().is_some_and(|n| n == "fastcgi-1.0.md") {
                out.push(p);
            }
        }
    }
    let mut found = Vec::new();
    find(spec_dir, 0, &mut found);
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!("no fastcgi-1.0.md under {}", spec_dir.display())),
        many => Err(format!(
            "several fastcgi-1.0.md under {}: {many:?}",
            spec_dir.display()
        )),
    }
}

/// The numbered headings of the spec, in order: `## 3. Protocol Basics`,
/// `### 3.3 Records`, `## Appendix A. Table: …`. Unnumbered headings
/// (annotations, "How to read this document") are not sections.
pub fn headings(markdown: &str) -> Vec<Heading> {
    let mut out = Vec::new();
    for line in markdown.lines() {
        let Some(rest) = line
            .strip_prefix("### ")
            .or_else(|| line.strip_prefix("## "))
        else {
            continue;
        };
        let (short, title) = if let Some(app) = rest.strip_prefix("Appendix ") {
            match app.split_once(". ") {
                Some((letter, title))
                    if letter.len() == 1 && letter.bytes().all(|b| b.is_ascii_uppercase()) =>
                {
                    (letter, title)
                }
                _ => continue,
            }
        } else {
            let Some((num, title)) = rest.split_once(' ') else {
                continue;
            };
            let num = num.strip_suffix('.').unwrap_or(num);
            let numeric = !num.is_empty()
                && num.split('.').count() <= 2
                && num
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if !numeric {
                continue;
            }
            (num, title)
        };
        out.push(Heading {
            short: short.to_string(),
            title: title.trim().to_string(),
        });
    }
    out
}

/// The Rust name of a section's variant: `S3_3`, `S4`, `AppendixA`.
pub fn variant(short: &str) -> String {
    if short.bytes().all(|b| b.is_ascii_uppercase()) {
        format!("Appendix{short}")
    } else {
        format!("S{}", short.replace('.', "_"))
    }
}

/// The Rust name of a requirement's constant: `R-3.3-1` is `R_3_3_1`.
pub fn constant(id: &str) -> String {
    id.replace(['-', '.'], "_")
}

fn level(l: &str) -> Result<&'static str, String> {
    Ok(match l {
        "MUST" => "Must",
        "SHOULD" => "Should",
        "MAY" => "May",
        _ => return Err(format!("unknown level {l:?}")),
    })
}

fn party(p: &str) -> Result<&'static str, String> {
    Ok(match p {
        "application" => "Application",
        "web-server" => "WebServer",
        "both" => "Both",
        _ => return Err(format!("unknown party {p:?}")),
    })
}

/// The text of `ids.rs`. Fails, saying which entry is wrong, when an ID is
/// malformed or repeated, or names a section, level or party the spec does
/// not have.
pub fn rust_source(reqs: &[Requirement], markdown: &str) -> Result<String, String> {
    let heads = headings(markdown);
    if heads.is_empty() {
        return Err("the spec has no numbered section headings".into());
    }
    for (i, h) in heads.iter().enumerate() {
        if heads.iter().take(i).any(|k| k.short == h.short) {
            return Err(format!("the spec has two headings for section {}", h.short));
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for r in reqs {
        let bad = |what: &str| format!("requirements.toml: {}: {what}", r.id);
        if seen.contains(&r.id.as_str()) {
            return Err(bad("the ID appears twice"));
        }
        seen.push(&r.id);
        let expected_prefix = format!("R-{}-", r.section);
        let n = r.id.strip_prefix(&expected_prefix).unwrap_or("");
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(&format!(
                "the ID is not R-{}-<n> for its section {}",
                r.section, r.section
            )));
        }
        if !heads.iter().any(|h| h.short == r.section) {
            return Err(bad(&format!(
                "section {} has no heading in the spec",
                r.section
            )));
        }
        level(&r.level).map_err(|e| bad(&e))?;
        party(&r.party).map_err(|e| bad(&e))?;
    }

    let mut s = String::new();
    let _ = writeln!(
        s,
        "// @generated from spec/requirements.toml and the section headings of\n\
         // spec/fastcgi-1.0.md by conformance/src/requirements/generate.rs; do not edit.\n\
         // Regenerate after changing the spec with:\n\
         //     {COMMAND}\n\
         // (the same test, without the variable, fails while this file is stale).\n"
    );
    let _ = writeln!(s, "use super::{{Level, Party, Requirement}};\n");

    let _ = writeln!(
        s,
        "/// A numbered section or appendix of the annotated spec\n\
         /// (`spec/fastcgi-1.0.md`), ordered as the spec is."
    );
    let _ = writeln!(
        s,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]\npub enum Section {{"
    );
    for h in &heads {
        let _ = writeln!(
            s,
            "    /// {}\n    {},",
            heading_words(h),
            variant(&h.short)
        );
    }
    let _ = writeln!(s, "}}\n");
    let _ = writeln!(s, "impl Section {{");
    let _ = writeln!(
        s,
        "    /// Every section, in the spec's order.\n    pub const ALL: &'static [Section] = &["
    );
    for h in &heads {
        let _ = writeln!(s, "        Section::{},", variant(&h.short));
    }
    let _ = writeln!(s, "    ];\n");
    let arms = |s: &mut String, doc: &str, f: &str, value: &dyn Fn(&Heading) -> String| {
        let _ = writeln!(
            s,
            "    /// {doc}\n    pub const fn {f}(self) -> &'static str {{\n        match self {{"
        );
        for h in &heads {
            let _ = writeln!(
                s,
                "            Section::{} => {:?},",
                variant(&h.short),
                value(h)
            );
        }
        let _ = writeln!(s, "        }}\n    }}");
    };
    arms(
        &mut s,
        "The form case IDs and requirement IDs use: `3.3`, `4`, `A`.",
        "short",
        &|h| h.short.clone(),
    );
    s.push('\n');
    arms(
        &mut s,
        "How text names it, as `Display` writes it: `§3.3`, `appendix A`.",
        "name",
        &|h| name(&h.short),
    );
    s.push('\n');
    arms(
        &mut s,
        "The heading's words, e.g. `Records` for §3.3.",
        "title",
        &|h| h.title.clone(),
    );
    let _ = writeln!(s, "}}");

    let live: Vec<&Requirement> = reqs.iter().filter(|r| !r.retired).collect();
    for r in &live {
        let derived = if r.derived { ", derived" } else { "" };
        let _ = writeln!(
            s,
            "\n/// {} ({}, {}, {}{derived}): {}\npub const {}: Requirement = Requirement {{\n    \
             id: {:?},\n    section: Section::{},\n    level: Level::{},\n    party: Party::{},\n    \
             derived: {},\n    summary: {:?},\n}};",
            r.id,
            r.level,
            r.party,
            name(&r.section),
            r.summary,
            constant(&r.id),
            r.id,
            variant(&r.section),
            level(&r.level)?,
            party(&r.party)?,
            r.derived,
            r.summary
        );
    }
    let _ = writeln!(
        s,
        "\nimpl Requirement {{\n    /// Every live requirement, in the order of spec/requirements.toml.\n    \
         pub const ALL: &'static [Requirement] = &["
    );
    for r in &live {
        let _ = writeln!(s, "        {},", constant(&r.id));
    }
    let _ = writeln!(s, "    ];\n}}");
    let _ = write!(
        s,
        "\n/// IDs the spec has retired (`retired = true`): never reused, and no\n\
         /// constant, so code cannot name them.\npub const RETIRED: &[&str] = &["
    );
    let retired: Vec<&Requirement> = reqs.iter().filter(|r| r.retired).collect();
    if !retired.is_empty() {
        s.push('\n');
        for r in retired {
            let _ = writeln!(s, "    {:?},", r.id);
        }
    }
    let _ = writeln!(s, "];");
    Ok(s)
}

/// `§3.3 Records`, `Appendix A. Table: …`, as the heading reads.
fn heading_words(h: &Heading) -> String {
    if h.short.bytes().all(|b| b.is_ascii_uppercase()) {
        format!("Appendix {}. {}", h.short, h.title)
    } else {
        format!("§{} {}", h.short, h.title)
    }
}

fn name(short: &str) -> String {
    if short.bytes().all(|b| b.is_ascii_uppercase()) {
        format!("appendix {short}")
    } else {
        format!("§{short}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_are_the_numbered_ones() {
        let md = "# Title\n## How to read\n## 1. Introduction\n### Annotations\n\
                  ### 3.3 Records\n#### Padding\n## 4. Management Record Types\n\
                  ## Appendix A. Table: x\n## Appendix of things\n### 10.2.1 too deep\n";
        let h: Vec<(String, String)> = headings(md)
            .into_iter()
            .map(|h| (h.short, h.title))
            .collect();
        let want = [
            ("1", "Introduction"),
            ("3.3", "Records"),
            ("4", "Management Record Types"),
            ("A", "Table: x"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(h, want);
    }

    #[test]
    fn names() {
        assert_eq!(variant("3.3"), "S3_3");
        assert_eq!(variant("4"), "S4");
        assert_eq!(variant("A"), "AppendixA");
        assert_eq!(constant("R-3.3-12"), "R_3_3_12");
        assert_eq!(constant("R-A-1"), "R_A_1");
        assert_eq!(name("B"), "appendix B");
        assert_eq!(name("6.4"), "§6.4");
    }

    fn req(id: &str, section: &str) -> Requirement {
        Requirement {
            id: id.into(),
            section: section.into(),
            level: "MUST".into(),
            party: "both".into(),
            summary: "s".into(),
            derived: false,
            retired: false,
            check: None,
            reason: None,
        }
    }

    #[test]
    fn bad_entries_are_refused() {
        let md = "### 3.3 Records\n## 4. Management\n";
        assert!(rust_source(&[req("R-3.3-1", "3.3")], md).is_ok());
        let e = rust_source(&[req("R-3.3-1", "3.3"), req("R-3.3-1", "3.3")], md);
        assert!(e.unwrap_err().contains("twice"));
        let e = rust_source(&[req("R-3.4-1", "3.3")], md);
        assert!(e.unwrap_err().contains("not R-3.3-<n>"));
        let e = rust_source(&[req("R-5.1-1", "5.1")], md);
        assert!(e.unwrap_err().contains("no heading"));
        let mut r = req("R-3.3-1", "3.3");
        r.level = "OUGHT".into();
        assert!(rust_source(&[r], md).unwrap_err().contains("level"));
    }

    #[test]
    fn retired_requirements_get_no_constant() {
        let md = "### 3.3 Records\n";
        let mut old = req("R-3.3-2", "3.3");
        old.retired = true;
        let s = rust_source(&[req("R-3.3-1", "3.3"), old], md).unwrap();
        assert!(s.contains("pub const R_3_3_1: Requirement"));
        assert!(!s.contains("R_3_3_2"));
        assert!(s.contains("pub const RETIRED: &[&str] = &[\n    \"R-3.3-2\",\n];"));
    }
}
