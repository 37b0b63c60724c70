//! Wall-clock helpers: epoch milliseconds and the ISO-8601 UTC strings the JSON files hold.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `2025-08-14T12:44:15.262Z`, as JS `Date.prototype.toISOString` prints it.
pub fn iso_from_ms(ms: u64) -> String {
    let (days, rest) = (ms / 86_400_000, ms % 86_400_000);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.mmm]Z` (what the scripts write); `None` for anything else.
pub fn ms_from_iso(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || *b.last()? != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| text.get(from..to)?.parse::<u64>().ok();
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let millis = match &text[19..text.len() - 1] {
        "" => 0,
        frac if frac.len() == 4 && frac.starts_with('.') => num(20, 23)?,
        _ => return None,
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(y as i64, mo as i64, d as i64);
    let days = u64::try_from(days).ok()?;
    Some(days * 86_400_000 + h * 3_600_000 + mi * 60_000 + s * 1000 + millis)
}

/// `2025-08-13T11-26-18-516Z`: the ISO time with `:` and `.` made `-`, as backup folder names carry it.
pub fn dashed_stamp(ms: u64) -> String {
    iso_from_ms(ms).replace([':', '.'], "-")
}

/// Finds a [`dashed_stamp`] at the end of a folder name (`migration-2025-08-13T11-26-18-516Z`).
pub fn ms_from_dashed_suffix(name: &str) -> Option<u64> {
    let stamp = name.get(name.len().checked_sub(24)?..)?;
    let b = stamp.as_bytes();
    if b[13] != b'-' || b[16] != b'-' || b[19] != b'-' {
        return None;
    }
    let iso = format!(
        "{}:{}:{}.{}",
        &stamp[..13],
        &stamp[14..16],
        &stamp[17..19],
        &stamp[20..]
    );
    ms_from_iso(&iso)
}

/// `YYYYMMDD-HHMMSS` in UTC, for incident ids and folder names.
pub fn compact_stamp(ms: u64) -> String {
    let iso = iso_from_ms(ms);
    format!(
        "{}{}{}-{}{}{}",
        &iso[0..4],
        &iso[5..7],
        &iso[8..10],
        &iso[11..13],
        &iso[14..16],
        &iso[17..19]
    )
}

// Howard Hinnant's civil-calendar algorithms: exact for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashed_stamps_round_trip_from_folder_names() {
        let ms = ms_from_iso("2025-08-13T11:26:18.516Z").unwrap();
        assert_eq!(dashed_stamp(ms), "2025-08-13T11-26-18-516Z");
        assert_eq!(
            ms_from_dashed_suffix("migration-2025-08-13T11-26-18-516Z"),
            Some(ms)
        );
        assert_eq!(ms_from_dashed_suffix("manual"), None);
        assert_eq!(ms_from_dashed_suffix("x-2025-08-13T11:26:18.516Z"), None);
    }

    #[test]
    fn iso_round_trips_real_timestamps() {
        assert_eq!(iso_from_ms(1_753_441_878_006), "2025-07-25T11:11:18.006Z");
        assert_eq!(
            ms_from_iso("2025-07-25T11:11:18.006Z"),
            Some(1_753_441_878_006)
        );
        assert_eq!(ms_from_iso("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(iso_from_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(compact_stamp(1_753_441_878_006), "20250725-111118");
    }

    #[test]
    fn malformed_iso_is_rejected() {
        for bad in [
            "",
            "2025-07-25",
            "2025-13-01T00:00:00Z",
            "2025-07-25T11:11:18.06Z",
            "x025-07-25T11:11:18Z",
        ] {
            assert_eq!(ms_from_iso(bad), None, "{bad}");
        }
    }
}
