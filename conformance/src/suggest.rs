//! "Did you mean …?": the nearest valid name to a mistyped one, by edit
//! distance (the `strsim` crate's Levenshtein), when one is near enough.

/// The candidate nearest to `word`, if it is within a third of the
/// word's length in edits (at least 2), so unrelated names are not offered.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// What a selection pattern (`--only`/`--skip`, a substring or `*` glob)
/// could have meant: the nearest case id, `suite/section` prefix or slug.
pub fn nearest_pattern(pattern: &str, ids: &[&str]) -> Option<String> {
    let word = pattern.replace('*', "");
    let mut candidates: Vec<String> = Vec::new();
    for id in ids {
        candidates.push((*id).to_string());
        let parts: Vec<&str> = id.split('/').collect();
        if let [suite, section, slug] = parts[..] {
            candidates.push(format!("{suite}/{section}"));
            candidates.push(slug.to_string());
        }
    }
    candidates.sort();
    candidates.dedup();
    let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
    nearest(&word, &refs).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_offered_and_far_ones_not() {
        assert_eq!(nearest("passs", &["pass", "fail"]), Some("pass"));
        assert_eq!(nearest("fial", &["pass", "fail"]), Some("fail"));
        assert_eq!(nearest("zzzzz", &["pass", "fail"]), None);
    }

    #[test]
    fn patterns_are_matched_to_ids_sections_and_slugs() {
        let ids = ["app/4.1/get-values", "app/5.4/abort-after-params"];
        assert_eq!(
            nearest_pattern("get-valeus", &ids).as_deref(),
            Some("get-values")
        );
        assert_eq!(nearest_pattern("app/4.9", &ids).as_deref(), Some("app/4.1"));
        assert_eq!(
            nearest_pattern("app/5.4/abort-after-param*", &ids).as_deref(),
            Some("app/5.4/abort-after-params")
        );
        assert_eq!(nearest_pattern("nomatch", &ids), None);
    }
}
