//! The requirement IDs of `spec/requirements.toml` and which cases cover
//! them: the data behind `fcgi-conformance list --requirements` and the
//! traceability test. `generate` writes the codec's typed form of them
//! (`fcgi_proto::requirement`).

pub mod generate;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::case::CaseInfo;

/// One normative statement of the annotated spec.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Requirement {
    /// Stable ID, e.g. `R-3.4-2`.
    pub id: String,
    /// Spec section, e.g. `3.4`.
    pub section: String,
    /// `MUST`, `SHOULD` or `MAY`.
    pub level: String,
    /// `application`, `web-server` or `both`.
    pub party: String,
    /// The statement in one sentence.
    pub summary: String,
    /// True when the original implies the statement without saying it.
    #[serde(default)]
    pub derived: bool,
    /// True when the ID is retired: kept so it is never reused, but no
    /// longer a requirement (no constant, no coverage, not listed).
    #[serde(default, skip_serializing_if = "is_false")]
    pub retired: bool,
    /// What checks it, as the spec claims: `cases`, `tests`,
    /// `cases and tests` or `none` (the traceability test holds the claim
    /// against the code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Why nothing checks it, with `check = "none"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Deserialize)]
struct File {
    requirement: Vec<Requirement>,
}

/// Where the embedded copy sits in the repository, relative to its root.
/// `cargo package` cannot reach `../spec`, so the crate carries a copy of
/// `spec/requirements.toml`; the test `embedded_requirements` fails when
/// the two differ.
pub const EMBEDDED_PATH: &str = "conformance/src/requirements/requirements.toml";

/// The text of `spec/requirements.toml` as this binary was built with it,
/// so that `list --requirements` works from `cargo install` too.
pub const EMBEDDED: &str = include_str!("requirements/requirements.toml");

/// The requirements built into the binary ([`EMBEDDED`]).
pub fn embedded() -> Result<Vec<Requirement>, String> {
    parse(EMBEDDED, "the built-in spec/requirements.toml")
}

/// Reads and parses a requirements file.
pub fn load(path: &Path) -> Result<Vec<Requirement>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text, &path.display().to_string())
}

/// Parses the text of a requirements file; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Requirement>, String> {
    let f: File = toml::from_str(text).map_err(|e| format!("{origin} is not valid: {e}"))?;
    Ok(f.requirement)
}

/// Each live (not retired) requirement with the ids of the cases that name it.
pub fn coverage<'r>(
    reqs: &'r [Requirement],
    cases: &[CaseInfo],
) -> Vec<(&'r Requirement, Vec<&'static str>)> {
    reqs.iter()
        .filter(|r| !r.retired)
        .map(|r| {
            let by: Vec<&'static str> = cases
                .iter()
                .filter(|c| c.requirements.iter().any(|q| q.id() == r.id))
                .map(|c| c.id)
                .collect();
            (r, by)
        })
        .collect()
}

/// Requirement IDs that cases name but the spec does not define.
pub fn unknown_ids(reqs: &[Requirement], cases: &[CaseInfo]) -> Vec<String> {
    let mut out: Vec<String> = cases
        .iter()
        .flat_map(|c| c.requirements.iter())
        .filter(|q| !reqs.iter().any(|r| r.id == q.id()))
        .map(|q| q.id().to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retired_entries_are_read_and_left_out_of_coverage() {
        let dir = std::env::temp_dir().join(format!("fcgi-reqs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("requirements.toml");
        std::fs::write(
            &path,
            r#"
[[requirement]]
id = "R-3.3-1"
section = "3.3"
level = "MUST"
party = "both"
summary = "a"
check = "cases"
future_field = 1

[[requirement]]
id = "R-3.3-2"
section = "3.3"
level = "MUST"
party = "both"
summary = "b"
retired = true
check = "none"
reason = "gone"
"#,
        )
        .unwrap();
        let reqs = load(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].check.as_deref(), Some("cases"));
        assert!(!reqs[0].retired && reqs[1].retired);
        assert_eq!(reqs[1].reason.as_deref(), Some("gone"));
        let cases = crate::app::cases();
        let cov = coverage(&reqs, &cases);
        let ids: Vec<&str> = cov.iter().map(|(r, _)| r.id.as_str()).collect();
        assert_eq!(ids, ["R-3.3-1"]);
        assert!(cov[0].1.contains(&"app/3.3/version"));
    }
}
