//! A widget's business hours (`settings.hours`): its IANA time zone, the opening ranges of each
//! weekday, and holidays (dates closed all day). Pure schedule logic: whether the team is open
//! at an instant, until when, and when it opens next. No `hours` means always open.
//!
//! ```json
//! "hours": {
//!   "time_zone": "Europe/Paris",
//!   "weekly": { "mon": ["09:00-12:30", "13:30-18:00"], "fri": ["22:00-24:00"], "sat": ["00:00-02:00"] },
//!   "holidays": ["2026-12-25", "2027-01-01"]
//! }
//! ```
//!
//! A range is `HH:MM-HH:MM` in the widget's time zone, ends after it starts on the same day
//! (`24:00` is the day's end) and may not overlap another range of that day; a day may have
//! several, or none (closed). A range never runs past midnight: a night shift is two ranges on
//! two days (`fri 22:00-24:00` and `sat 00:00-02:00`), and ranges that touch join, so the team
//! counts as open straight through midnight. A holiday closes its whole date (00:00-24:00 local),
//! so a night shift's half on a holiday is closed too.
//!
//! Clock changes: a local time that happens twice (autumn) means its first occurrence; one that
//! does not happen (spring) means the first minute after the gap, so an opening at 02:30 on the
//! night the clocks jump from 02:00 to 03:00 opens at 03:00.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

/// The weekdays as `settings.hours.weekly` names them, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Most ranges one day may have.
const MAX_RANGES_PER_DAY: usize = 10;
/// Most holidays a widget may list.
const MAX_HOLIDAYS: usize = 366;
/// Minutes in a day: `24:00`.
const DAY_END: u16 = 24 * 60;

/// A widget's validated business hours.
#[derive(Debug, Clone, PartialEq)]
pub struct Hours {
    time_zone: Tz,
    /// Per weekday (Monday first): minute ranges `[start, end)` of the local day, sorted, not
    /// overlapping, never empty.
    week: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// Whether the team is open at an instant, by the hours alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Open; until `closes_at` (`None`: not within the time looked ahead, as when open all week).
    Open {
        /// When this opening ends.
        closes_at: Option<DateTime<Utc>>,
    },
    /// Closed; `opens_at` is the next opening (`None`: none ahead, as with no weekly hours).
    Closed {
        /// When the team opens next.
        opens_at: Option<DateTime<Utc>>,
    },
}

impl Hours {
    /// The widget's hours from its settings: `None` when it has none (always open); `Err` with
    /// what is wrong, naming the setting, when they are invalid.
    pub fn from_settings(settings: &Value) -> Result<Option<Self>, String> {
        match settings.get("hours") {
            None | Some(Value::Null) => Ok(None),
            Some(hours) => Self::parse(hours).map(Some),
        }
    }

    fn parse(hours: &Value) -> Result<Self, String> {
        let Value::Object(hours) = hours else {
            return Err(
                "settings.hours must be an object with time_zone, weekly and holidays".into(),
            );
        };
        if let Some(unknown) = hours
            .keys()
            .find(|k| !["time_zone", "weekly", "holidays"].contains(&k.as_str()))
        {
            return Err(format!(
                "settings.hours has no field {unknown:?} (it takes time_zone, weekly, holidays)"
            ));
        }
        let time_zone =
            match hours.get("time_zone") {
                Some(Value::String(name)) => name.trim().parse::<Tz>().map_err(|_| {
                    format!(
                        "settings.hours.time_zone {name:?} is not an IANA time zone such as \
                     Europe/Paris or America/New_York"
                    )
                })?,
                _ => return Err(
                    "settings.hours.time_zone is required: an IANA time zone such as Europe/Paris"
                        .into(),
                ),
            };
        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        match hours.get("weekly") {
            None | Some(Value::Null) => {}
            Some(Value::Object(days)) => {
                for (day, ranges) in days {
                    let Some(index) = WEEKDAYS.iter().position(|d| d == day) else {
                        return Err(format!(
                            "settings.hours.weekly has no day {day:?} (use mon, tue, wed, thu, \
                             fri, sat, sun)"
                        ));
                    };
                    week[index] = parse_day(day, ranges)?;
                }
            }
            Some(_) => {
                return Err(
                    "settings.hours.weekly must be an object such as {\"mon\": [\"09:00-17:00\"]}"
                        .into(),
                )
            }
        }
        let mut holidays = BTreeSet::new();
        match hours.get("holidays") {
            None | Some(Value::Null) => {}
            Some(Value::Array(dates)) => {
                if dates.len() > MAX_HOLIDAYS {
                    return Err(format!(
                        "settings.hours.holidays may list at most {MAX_HOLIDAYS} dates"
                    ));
                }
                for date in dates {
                    let parsed = date
                        .as_str()
                        .filter(|d| d.len() == 10)
                        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                        .ok_or_else(|| {
                            format!(
                                "settings.hours.holidays: {date} is not a date such as 2026-12-25"
                            )
                        })?;
                    holidays.insert(parsed);
                }
            }
            Some(_) => {
                return Err(
                    "settings.hours.holidays must be a list of dates such as [\"2026-12-25\"]"
                        .into(),
                )
            }
        }
        Ok(Self {
            time_zone,
            week,
            holidays,
        })
    }

    /// The time zone the hours are in.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// Whether the team is open at `now`, and until when or from when.
    pub fn at(&self, now: DateTime<Utc>) -> Schedule {
        let today = now.with_timezone(&self.time_zone).date_naive();
        // An open weekday comes within a week; each holiday can push it a week further.
        let horizon = 9 + 7 * self.holidays.len() as u64;
        let mut current: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        for offset in 0..=horizon {
            let Some(date) = today
                .checked_sub_days(Days::new(1))
                .and_then(|d| d.checked_add_days(Days::new(offset)))
            else {
                break;
            };
            for (start, end) in self.openings(date) {
                match &mut current {
                    // Touching or overlapping (a night shift across midnight): one opening.
                    Some((_, until)) if start <= *until => {
                        if end > *until {
                            *until = end;
                        }
                        continue;
                    }
                    Some((from, until)) if *from <= now && now < *until => {
                        return Schedule::Open {
                            closes_at: Some(*until),
                        }
                    }
                    Some((from, _)) if *from > now => {
                        return Schedule::Closed {
                            opens_at: Some(*from),
                        }
                    }
                    _ => {}
                }
                current = Some((start, end));
            }
        }
        match current {
            Some((from, until)) if from <= now && now < until => Schedule::Open { closes_at: None },
            Some((from, _)) if from > now => Schedule::Closed {
                opens_at: Some(from),
            },
            _ => Schedule::Closed { opens_at: None },
        }
    }

    /// Whether the team is open at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        matches!(self.at(now), Schedule::Open { .. })
    }

    /// The opening ranges of one local date as instants (none on a holiday).
    fn openings(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let weekday = date.weekday().num_days_from_monday() as usize;
        self.week[weekday]
            .iter()
            .filter_map(|&(start, end)| {
                Some((self.instant(date, start)?, self.instant(date, end)?))
            })
            .filter(|(start, end)| start < end)
            .collect()
    }

    /// The instant a local date and minute of the day name: the first if it happens twice, the
    /// end of the gap if the clocks skip it.
    fn instant(&self, date: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
        let mut local: NaiveDateTime =
            date.and_hms_opt(0, 0, 0)? + chrono::Duration::minutes(i64::from(minute));
        // Gaps last an hour or two; a day bounds the search.
        for _ in 0..=DAY_END {
            match self.time_zone.from_local_datetime(&local) {
                LocalResult::Single(at) => return Some(at.with_timezone(&Utc)),
                LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
                LocalResult::None => local += chrono::Duration::minutes(1),
            }
        }
        None
    }
}

/// One weekday's ranges: sorted, each non-empty, none overlapping.
fn parse_day(day: &str, ranges: &Value) -> Result<Vec<(u16, u16)>, String> {
    let Value::Array(ranges) = ranges else {
        return Err(format!(
            "settings.hours.weekly.{day} must be a list of ranges such as [\"09:00-17:00\"] \
             (empty: closed)"
        ));
    };
    if ranges.len() > MAX_RANGES_PER_DAY {
        return Err(format!(
            "settings.hours.weekly.{day} may have at most {MAX_RANGES_PER_DAY} ranges"
        ));
    }
    let mut parsed = Vec::with_capacity(ranges.len());
    for range in ranges {
        let text = range.as_str().unwrap_or_default();
        let (start, end) = text
            .split_once('-')
            .and_then(|(a, b)| Some((minute_of(a.trim())?, minute_of(b.trim())?)))
            .filter(|&(start, _)| start < DAY_END)
            .ok_or_else(|| {
                format!(
                    "settings.hours.weekly.{day}: {range} is not a range such as \"09:00-17:00\""
                )
            })?;
        if start == end {
            return Err(format!(
                "settings.hours.weekly.{day}: {text:?} is empty (it ends when it starts)"
            ));
        }
        if end < start {
            return Err(format!(
                "settings.hours.weekly.{day}: {text:?} ends before it starts; a range cannot \
                 run past midnight: write 22:00-24:00 on one day and 00:00-02:00 on the next"
            ));
        }
        parsed.push((start, end, text));
    }
    parsed.sort_by_key(|&(start, _, _)| start);
    for pair in parsed.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(format!(
                "settings.hours.weekly.{day}: {:?} and {:?} overlap",
                pair[0].2, pair[1].2
            ));
        }
    }
    Ok(parsed.into_iter().map(|(s, e, _)| (s, e)).collect())
}

/// `HH:MM` (00:00-24:00) as minutes of the day.
fn minute_of(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = minutes.parse().ok()?;
    let minute = hours * 60 + minutes;
    (minutes < 60 && minute <= DAY_END).then_some(minute)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn hours(value: Value) -> Hours {
        Hours::from_settings(&json!({ "hours": value }))
            .unwrap()
            .unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn closed_until(text: &str) -> Schedule {
        Schedule::Closed {
            opens_at: Some(utc(text)),
        }
    }

    fn open_until(text: &str) -> Schedule {
        Schedule::Open {
            closes_at: Some(utc(text)),
        }
    }

    fn weekdays_nine_to_five(time_zone: &str) -> Hours {
        let day = json!(["09:00-12:00", "13:00-17:00"]);
        hours(json!({ "time_zone": time_zone, "weekly": {
            "mon": day, "tue": day, "wed": day, "thu": day, "fri": day } }))
    }

    #[test]
    fn no_hours_is_always_open() {
        assert_eq!(Hours::from_settings(&json!({})), Ok(None));
        assert_eq!(Hours::from_settings(&json!({ "hours": null })), Ok(None));
    }

    #[test]
    fn open_and_closed_within_a_week() {
        // 2026-03-02 is a Monday; Paris is UTC+1 in winter.
        let week = weekdays_nine_to_five("Europe/Paris");
        assert_eq!(
            week.at(utc("2026-03-02T07:59:00Z")),
            closed_until("2026-03-02T08:00:00Z")
        );
        assert_eq!(
            week.at(utc("2026-03-02T08:00:00Z")),
            open_until("2026-03-02T11:00:00Z")
        );
        // Lunch: closed between two ranges of the same day.
        assert_eq!(
            week.at(utc("2026-03-02T11:30:00Z")),
            closed_until("2026-03-02T12:00:00Z")
        );
        // Friday evening: next opening is Monday, across the week's end.
        assert_eq!(
            week.at(utc("2026-03-06T16:00:00Z")),
            closed_until("2026-03-09T08:00:00Z")
        );
        // Sunday night, across the week boundary of the table (sun → mon).
        assert_eq!(
            week.at(utc("2026-03-08T22:00:00Z")),
            closed_until("2026-03-09T08:00:00Z")
        );
        assert!(week.is_open(utc("2026-03-04T15:00:00Z")));
    }

    #[test]
    fn holidays_close_the_whole_date_and_push_the_next_opening() {
        let mut week = weekdays_nine_to_five("Europe/Paris");
        // Friday 2026-12-25 and Monday 2026-12-28 off.
        week.holidays = ["2026-12-25", "2026-12-28"]
            .iter()
            .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap())
            .collect();
        assert!(!week.is_open(utc("2026-12-25T10:00:00Z")));
        // Thursday evening: Friday and Monday are holidays, the weekend is closed: Tuesday.
        assert_eq!(
            week.at(utc("2026-12-24T17:00:00Z")),
            closed_until("2026-12-29T08:00:00Z")
        );
        // A widget open on Mondays only, that Monday off: the Monday after.
        let mut mondays = hours(
            json!({ "time_zone": "UTC", "weekly": { "mon": ["10:00-11:00"] },
                                        "holidays": ["2026-12-28"] }),
        );
        assert_eq!(
            mondays.at(utc("2026-12-24T17:00:00Z")),
            closed_until("2027-01-04T10:00:00Z")
        );
        mondays
            .holidays
            .insert(NaiveDate::from_ymd_opt(2027, 1, 4).unwrap());
        assert_eq!(
            mondays.at(utc("2026-12-24T17:00:00Z")),
            closed_until("2027-01-11T10:00:00Z")
        );
    }

    #[test]
    fn a_week_with_no_hours_never_opens() {
        let closed = hours(json!({ "time_zone": "UTC", "weekly": {} }));
        assert_eq!(
            closed.at(utc("2026-03-02T12:00:00Z")),
            Schedule::Closed { opens_at: None }
        );
        let empty_days = hours(json!({ "time_zone": "UTC", "weekly": { "mon": [], "tue": [] } }));
        assert!(!empty_days.is_open(utc("2026-03-02T12:00:00Z")));
    }

    #[test]
    fn open_all_week_has_no_closing_in_sight() {
        let day = json!(["00:00-24:00"]);
        let always = hours(json!({ "time_zone": "Asia/Tokyo", "weekly": {
            "mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day } }));
        assert_eq!(
            always.at(utc("2026-03-02T12:00:00Z")),
            Schedule::Open { closes_at: None }
        );
    }

    #[test]
    fn ranges_that_touch_at_midnight_are_one_night_shift() {
        let night = hours(json!({ "time_zone": "UTC", "weekly": {
            "fri": ["22:00-24:00"], "sat": ["00:00-02:00"] } }));
        // Friday 2026-03-06 23:00: open until Saturday 02:00, not until midnight.
        assert_eq!(
            night.at(utc("2026-03-06T23:00:00Z")),
            open_until("2026-03-07T02:00:00Z")
        );
        assert_eq!(
            night.at(utc("2026-03-07T01:00:00Z")),
            open_until("2026-03-07T02:00:00Z")
        );
        assert_eq!(
            night.at(utc("2026-03-07T03:00:00Z")),
            closed_until("2026-03-13T22:00:00Z")
        );
    }

    #[test]
    fn clock_changes_keep_local_hours() {
        let week = weekdays_nine_to_five("America/New_York");
        // Friday 2026-03-06 (EST, UTC-5) after closing: DST starts Sunday 2026-03-08, so
        // Monday's 09:00 is 13:00 UTC, not 14:00.
        assert_eq!(
            week.at(utc("2026-03-06T23:00:00Z")),
            closed_until("2026-03-09T13:00:00Z")
        );
        // Autumn: DST ends Sunday 2026-11-01; Monday's 09:00 is 14:00 UTC again.
        assert_eq!(
            week.at(utc("2026-10-30T22:00:00Z")),
            closed_until("2026-11-02T14:00:00Z")
        );
    }

    #[test]
    fn times_the_clocks_skip_or_repeat() {
        // Europe/Paris: 2026-03-29 02:00 → 03:00 (a Sunday); 2026-10-25 03:00 → 02:00.
        let spring =
            hours(json!({ "time_zone": "Europe/Paris", "weekly": { "sun": ["02:30-04:00"] } }));
        // 02:30 does not happen: the opening is 03:00 local (01:00 UTC).
        assert_eq!(
            spring.at(utc("2026-03-28T12:00:00Z")),
            closed_until("2026-03-29T01:00:00Z")
        );
        let autumn =
            hours(json!({ "time_zone": "Europe/Paris", "weekly": { "sun": ["02:30-04:00"] } }));
        // 02:30 happens twice: its first time, still summer time (00:30 UTC).
        assert_eq!(
            autumn.at(utc("2026-10-24T12:00:00Z")),
            closed_until("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            autumn.at(utc("2026-10-25T01:00:00Z")),
            open_until("2026-10-25T03:00:00Z")
        );
    }

    #[test]
    fn invalid_hours_are_refused_with_the_reason() {
        let refused = |value: Value| Hours::from_settings(&json!({ "hours": value })).unwrap_err();
        assert!(refused(json!("9-5")).contains("must be an object"));
        assert!(refused(json!({ "weekly": {} })).contains("time_zone is required"));
        assert!(refused(json!({ "time_zone": "Mars/Olympus" })).contains("not an IANA time zone"));
        assert!(refused(json!({ "time_zone": "UTC", "days": {} })).contains("no field \"days\""));
        assert!(
            refused(json!({ "time_zone": "UTC", "weekly": { "monday": [] } }))
                .contains("no day \"monday\"")
        );
        assert!(
            refused(json!({ "time_zone": "UTC", "weekly": { "mon": "09:00-17:00" } }))
                .contains("must be a list")
        );
        assert!(
            refused(json!({ "time_zone": "UTC", "weekly": { "mon": ["9-17"] } }))
                .contains("is not a range")
        );
        assert!(
            refused(json!({ "time_zone": "UTC", "weekly": { "mon": ["09:00-09:00"] } }))
                .contains("is empty")
        );
        assert!(
            refused(json!({ "time_zone": "UTC", "weekly": { "mon": ["22:00-02:00"] } }))
                .contains("cannot run past midnight")
        );
        assert!(
            refused(json!({ "time_zone": "UTC", "weekly": { "mon": ["24:00-24:00"] } }))
                .contains("is not a range")
        );
        assert!(
            refused(json!({ "time_zone": "UTC", "weekly": { "mon": ["09:61-10:00"] } }))
                .contains("is not a range")
        );
        assert!(refused(json!({ "time_zone": "UTC", "weekly": {
            "mon": ["09:00-12:00", "11:00-13:00"] } }))
        .contains("overlap"));
        assert!(
            refused(json!({ "time_zone": "UTC", "holidays": ["2026-02-30"] }))
                .contains("is not a date")
        );
        assert!(
            refused(json!({ "time_zone": "UTC", "holidays": "2026-12-25" }))
                .contains("must be a list of dates")
        );
        // Touching ranges and 24:00 as an end are fine.
        assert!(
            Hours::from_settings(&json!({ "hours": { "time_zone": "UTC", "weekly": {
            "mon": ["12:00-24:00", "08:00-12:00"] }, "holidays": ["2026-12-25"] } }))
            .is_ok()
        );
    }
}
