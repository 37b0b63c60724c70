//! `checksums/SHA256SUMS`: the `sha256sum -c` format, and the path rules every listed path obeys.

use std::fmt::Write;

/// One `<64 hex>  <path>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumEntry {
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Path relative to the backup root, `/`-separated.
    pub path: String,
}

/// A line that is not a valid entry, kept so the report can name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
    /// The line is well formed but its path is absolute or climbs out with `..`.
    pub unsafe_path: bool,
}

/// Parses the file leniently: good lines become entries, bad ones are reported, none stop the rest.
pub fn parse(text: &str) -> (Vec<SumEntry>, Vec<BadLine>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(entry) => entries.push(entry),
            Err((reason, unsafe_path)) => bad.push(BadLine {
                line: i + 1,
                reason,
                unsafe_path,
            }),
        }
    }
    (entries, bad)
}

/// An entry, or why not and whether the reason is an unsafe path.
fn parse_line(line: &str) -> Result<SumEntry, (String, bool)> {
    let malformed = |why: &str| (why.to_string(), false);
    // A leading backslash marks a line whose path is escaped (see `format`).
    let (escaped, line) = match line.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (hash, rest) = line
        .split_at_checked(64)
        .ok_or_else(|| malformed("does not start with a 64-digit hash"))?;
    if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed("does not start with 64 hex digits"));
    }
    // `sha256sum` writes two spaces (text mode) or space-star (binary mode); accept both.
    let path = rest
        .strip_prefix("  ")
        .or_else(|| rest.strip_prefix(" *"))
        .ok_or_else(|| malformed("hash and path must be separated by two spaces"))?;
    let path = if escaped {
        unescape(path)
            .ok_or_else(|| malformed("the path has an escape other than \\\\, \\n or \\r"))?
    } else {
        path.to_string()
    };
    check_relative(&path).map_err(|why| (why, true))?;
    Ok(SumEntry {
        sha256: hash.to_ascii_lowercase(),
        path,
    })
}

/// Undoes `escape`; `None` for any other backslash sequence, as `sha256sum -c` refuses them.
fn unescape(path: &str) -> Option<String> {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '\\' => match chars.next()? {
                'n' => '\n',
                'r' => '\r',
                '\\' => '\\',
                _ => return None,
            },
            c => c,
        });
    }
    Some(out)
}

/// `\`, line feed and carriage return as `\\`, `\n` and `\r`.
fn escape(path: &str) -> String {
    path.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// Checks that `path` is relative and stays inside the folder it is relative to.
pub fn check_relative(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty path".into());
    }
    if path.starts_with('/') {
        return Err(format!("absolute path {path:?} points outside the backup"));
    }
    if path.contains('\0') || path.contains('\\') {
        return Err(format!("path {path:?} contains a NUL or backslash"));
    }
    for part in path.split('/') {
        match part {
            ".." => return Err(format!("path {path:?} climbs out of the backup with '..'")),
            "" | "." => return Err(format!("path {path:?} has an empty or '.' component")),
            _ => {}
        }
    }
    Ok(())
}

/// Formats entries as `sha256sum` does: one `<hash>  <path>` line each, newline-terminated.
///
/// Like GNU `sha256sum`, a path holding a line break or a backslash is written escaped behind
/// a leading backslash, so that every entry stays one line that `sha256sum -c` also reads.
pub fn format(entries: &[SumEntry]) -> String {
    let mut out = String::with_capacity(entries.len() * 100);
    for e in entries {
        if e.path.contains(['\\', '\n', '\r']) {
            let _ = writeln!(out, "\\{}  {}", e.sha256, escape(&e.path));
        } else {
            let _ = writeln!(out, "{}  {}", e.sha256, e.path);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "8fef7af2aa73f711132833f7f4f167e292f27c6a5566495decbe234066f1e97f";

    #[test]
    fn round_trips_and_accepts_the_old_files_missing_final_newline() {
        let entries = vec![SumEntry {
            sha256: H.into(),
            path: "legacy-json/a b.json".into(),
        }];
        let text = format(&entries);
        assert_eq!(text, format!("{H}  legacy-json/a b.json\n"));
        assert_eq!(parse(text.trim_end()), (entries, vec![]));
    }

    #[test]
    fn paths_with_line_breaks_are_escaped_as_gnu_sha256sum_does() {
        // Found by roundtrip_props: a backed-up file named "a\nb.json" was written as two
        // lines, so the backup never verified. The bytes are those `sha256sum` 9.1 writes.
        let entries: Vec<SumEntry> = ["legacy-json/a\nb.json", "x/c\rd", "y/e\r"]
            .into_iter()
            .map(|path| SumEntry {
                sha256: H.into(),
                path: path.into(),
            })
            .collect();
        let text = format(&entries);
        assert_eq!(
            text,
            format!("\\{H}  legacy-json/a\\nb.json\n\\{H}  x/c\\rd\n\\{H}  y/e\\r\n")
        );
        assert_eq!(parse(&text), (entries, vec![]));
    }

    #[test]
    fn escaped_lines_accept_only_the_three_escapes_and_unescaped_paths_stay_safe() {
        let (entries, bad) = parse(&format!(
            "\\{H}  a\\tb\n\\{H}  a\\\n\\{H}  a\\\\b\n\\{H}  plain\n"
        ));
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].path, "plain");
        let reasons: Vec<(usize, bool)> = bad.iter().map(|b| (b.line, b.unsafe_path)).collect();
        // An unknown escape and a trailing backslash are malformed; `\\` decodes to a backslash,
        // which no backup path may hold.
        assert_eq!(reasons, vec![(1, false), (2, false), (3, true)]);
    }

    #[test]
    fn bad_lines_are_reported_with_their_number_and_the_rest_still_parses() {
        let text = format!(
            "{H}  ok.json\nnot a line\n{H}  /etc/passwd\n{H}  a/../../x\n{H} one-space\n{H}  ok2\n"
        );
        let (entries, bad) = parse(&text);
        assert_eq!(entries.len(), 2);
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5]);
        assert!(bad[1].reason.contains("absolute") && bad[1].unsafe_path);
        assert!(bad[2].reason.contains("..") && bad[2].unsafe_path);
        assert!(!bad[0].unsafe_path && !bad[3].unsafe_path);
    }
}
