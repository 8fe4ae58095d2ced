//! Which alarms a list asks for and in what order: ThingsBoard's
//! `searchStatus` / `status` (v1) and `statusList`, `severityList`,
//! `typeList` (v2), an assignee, a window on `createdTime`, a text search
//! on type, severity and status, and eight sort keys.

use std::str::FromStr;

use serde_json::Value;

use super::alarm::{Alarm, AlarmSeverity, AlarmStatus};
use super::ids::UserId;
use super::page::{PageData, PageLink, SortOrder};
use super::validate::ValidationError;

pub const SORT_PROPERTIES: [&str; 8] = [
    "createdTime",
    "startTs",
    "endTs",
    "type",
    "ackTs",
    "clearTs",
    "severity",
    "status",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmSearchStatus {
    Any,
    Active,
    Cleared,
    Ack,
    Unack,
}

impl FromStr for AlarmSearchStatus {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        Ok(match s {
            "ANY" => AlarmSearchStatus::Any,
            "ACTIVE" => AlarmSearchStatus::Active,
            "CLEARED" => AlarmSearchStatus::Cleared,
            "ACK" => AlarmSearchStatus::Ack,
            "UNACK" => AlarmSearchStatus::Unack,
            other => {
                return Err(ValidationError::new(format!(
                    "Invalid alarm search status: '{other}'"
                )));
            }
        })
    }
}

/// Alarms by their two flags: each either free (`None`) or fixed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusFilter {
    pub cleared: Option<bool>,
    pub acknowledged: Option<bool>,
}

impl StatusFilter {
    /// v1 `searchStatus`.
    pub fn search(s: AlarmSearchStatus) -> Self {
        Self::any_of(&[s])
    }

    /// v1 `status`: exactly this one.
    pub fn exact(s: AlarmStatus) -> Self {
        StatusFilter {
            cleared: Some(s.is_cleared()),
            acknowledged: Some(s.is_acknowledged()),
        }
    }

    /// v2 `statusList`: ACTIVE and CLEARED fix the cleared flag, ACK and
    /// UNACK the acknowledged flag, each only when its opposite is not
    /// also listed; ANY (or nothing) fixes neither. So `ACTIVE,UNACK` is
    /// "active and unacknowledged", `ACTIVE,CLEARED` is every alarm.
    pub fn any_of(list: &[AlarmSearchStatus]) -> Self {
        use AlarmSearchStatus as S;
        if list.contains(&S::Any) {
            return StatusFilter::default();
        }
        let side = |yes: S, no: S| match (list.contains(&yes), list.contains(&no)) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        StatusFilter {
            cleared: side(S::Cleared, S::Active),
            acknowledged: side(S::Ack, S::Unack),
        }
    }

    pub fn matches(&self, a: &Alarm) -> bool {
        self.cleared.is_none_or(|c| c == a.cleared)
            && self.acknowledged.is_none_or(|k| k == a.acknowledged)
    }
}

/// Everything a list filters on besides who may see what.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmFilter {
    pub status: StatusFilter,
    /// Empty: any severity.
    pub severities: Vec<AlarmSeverity>,
    /// Empty: any type.
    pub types: Vec<String>,
    pub assignee: Option<UserId>,
    /// Inclusive bounds on `createdTime`.
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
}

impl AlarmFilter {
    pub fn matches(&self, a: &Alarm) -> bool {
        self.status.matches(a)
            && (self.severities.is_empty() || self.severities.contains(&a.severity))
            && (self.types.is_empty() || self.types.contains(&a.alarm_type))
            && self.assignee.is_none_or(|u| a.assignee_id == Some(u))
            && self.start_time.is_none_or(|t| a.created_time >= t)
            && self.end_time.is_none_or(|t| a.created_time <= t)
    }
}

/// A page's text search on alarms: type, severity or status,
/// case-insensitive substring.
pub fn text_matches(a: &Alarm, link: &PageLink) -> bool {
    link.text_search.is_none()
        || link.matches(&a.alarm_type.to_lowercase())
        || link.matches(&a.severity.as_str().to_lowercase())
        || link.matches(&a.status().as_str().to_lowercase())
}

/// A sort key of any of the supported properties.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Number(i64),
    Text(String),
}

/// Sorts and pages filtered alarms. Without a sort property the newest
/// come first (what an alarm list wants, as the audit log does); severity
/// sorts by rank (DESC: most severe first), status as ThingsBoard lists
/// them (ACTIVE_UNACK first).
pub fn page_of(all: Vec<Alarm>, link: &PageLink) -> PageData<Alarm> {
    let mut link = link.clone();
    if link.sort_property.is_none() {
        link.sort_order = SortOrder::Desc;
    }
    let property = link.sort_property.clone();
    PageData::sorted_by_key(all, &link, |a| {
        let key = match property.as_deref() {
            Some("startTs") => SortKey::Number(a.start_ts),
            Some("endTs") => SortKey::Number(a.end_ts),
            Some("ackTs") => SortKey::Number(a.ack_ts),
            Some("clearTs") => SortKey::Number(a.clear_ts),
            Some("type") => SortKey::Text(a.alarm_type.to_lowercase()),
            Some("severity") => SortKey::Number(i64::from(a.severity.rank())),
            Some("status") => SortKey::Number(a.status() as i64),
            _ => SortKey::Number(a.created_time),
        };
        (key, a.created_time, a.id)
    })
}

/// The most severe of `alarms` (`null` when there is none), as
/// `/api/alarm/highestSeverity` answers.
pub fn highest_severity<'a>(alarms: impl IntoIterator<Item = &'a Alarm>) -> Value {
    alarms
        .into_iter()
        .map(|a| a.severity)
        .max_by_key(|s| s.rank())
        .map_or(Value::Null, |s| Value::String(s.as_str().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alarm::Raise;
    use crate::domain::ids::{CustomerId, DeviceId, TenantId};

    fn alarm(t: &str, severity: AlarmSeverity, created: i64) -> Alarm {
        let raise = Raise {
            severity: Some(severity),
            ..Raise::default()
        };
        Alarm::raised(
            TenantId::new(),
            CustomerId::NULL,
            DeviceId::new().entity_id(),
            t,
            raise,
            created,
        )
    }

    fn link(q: &str) -> PageLink {
        let get = |name: &str| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        };
        PageLink::parse(
            Some("10"),
            Some("0"),
            get("textSearch").as_deref(),
            get("sortProperty").as_deref(),
            get("sortOrder").as_deref(),
        )
        .unwrap()
    }

    #[test]
    fn status_lists_combine_per_flag() {
        use AlarmSearchStatus as S;
        let active = alarm("a", AlarmSeverity::Major, 1);
        let acked = active.acknowledged_at(2).unwrap();
        let cleared = active.cleared_at(3).unwrap();
        let f = StatusFilter::any_of(&[S::Active, S::Unack]);
        assert!(f.matches(&active) && !f.matches(&acked) && !f.matches(&cleared));
        assert_eq!(
            StatusFilter::any_of(&[S::Active, S::Cleared]),
            StatusFilter::default()
        );
        assert_eq!(
            StatusFilter::any_of(&[S::Any, S::Ack]),
            StatusFilter::default()
        );
        assert!(StatusFilter::search(S::Cleared).matches(&cleared));
        assert!(!StatusFilter::search(S::Cleared).matches(&acked));
        let exact = StatusFilter::exact(AlarmStatus::ActiveAck);
        assert!(exact.matches(&acked) && !exact.matches(&active));
    }

    #[test]
    fn filters_check_severity_type_window_and_text() {
        let a = alarm("Overheat", AlarmSeverity::Critical, 100);
        let f = AlarmFilter {
            severities: vec![AlarmSeverity::Critical],
            types: vec!["Overheat".into()],
            start_time: Some(100),
            end_time: Some(100),
            ..AlarmFilter::default()
        };
        assert!(f.matches(&a));
        let later = AlarmFilter {
            start_time: Some(101),
            ..AlarmFilter::default()
        };
        assert!(!later.matches(&a));
        let minor = AlarmFilter {
            severities: vec![AlarmSeverity::Minor],
            ..AlarmFilter::default()
        };
        assert!(!minor.matches(&a));
        assert!(text_matches(&a, &link("")));
        assert!(text_matches(&a, &link("textSearch=HEAT")));
        assert!(text_matches(&a, &link("textSearch=critical")));
        assert!(text_matches(&a, &link("textSearch=active_un")));
        assert!(!text_matches(&a, &link("textSearch=cold")));
    }

    #[test]
    fn pages_sort_newest_first_by_default_and_by_severity_rank() {
        let all = vec![
            alarm("b", AlarmSeverity::Warning, 1),
            alarm("a", AlarmSeverity::Critical, 2),
            alarm("c", AlarmSeverity::Minor, 3),
        ];
        let types = |p: PageData<Alarm>| -> Vec<String> {
            p.data.into_iter().map(|a| a.alarm_type).collect()
        };
        assert_eq!(types(page_of(all.clone(), &link(""))), ["c", "a", "b"]);
        let by_severity = link("sortProperty=severity&sortOrder=DESC");
        assert_eq!(types(page_of(all.clone(), &by_severity)), ["a", "c", "b"]);
        let by_type = link("sortProperty=type&sortOrder=ASC");
        assert_eq!(types(page_of(all.clone(), &by_type)), ["a", "b", "c"]);
        assert_eq!(highest_severity(&all), Value::String("CRITICAL".into()));
        assert_eq!(highest_severity(&[]), Value::Null);
    }
}
