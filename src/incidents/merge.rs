//! Three-way merge of an edit that lost a race: against the version the edit started
//! from, fields only they changed take their value, fields only you changed keep yours,
//! and fields both of you changed to different values are conflicts for you to settle.

use super::fields::IncidentFields;

/// The outcome of merging your edit onto the saved version.
#[derive(Clone, Debug)]
pub struct Merge {
    /// The saved version with your changes applied; conflicting fields hold yours.
    pub fields: IncidentFields,
    /// Fields both sides changed, in form order.
    pub conflicts: Vec<&'static str>,
}

/// Applies the macro `$m` to each editable field with its name, in form order.
macro_rules! each_field {
    ($m:ident) => {
        $m!(title, "title");
        $m!(severity, "severity");
        $m!(status, "status");
        $m!(impact, "impact");
        $m!(users_affected_pct, "users_affected_pct");
        $m!(services, "services");
        $m!(commander_id, "commander");
        $m!(comms_lead_id, "communications_lead");
        $m!(scribe_id, "scribe");
        $m!(ops_lead_id, "operations_lead");
        $m!(started_at, "started_at");
        $m!(detected_at, "detected_at");
        $m!(acknowledged_at, "acknowledged_at");
        $m!(mitigated_at, "mitigated_at");
        $m!(resolved_at, "resolved_at");
    };
}

/// Merges `mine` (an edit of `base`) onto `theirs` (the saved version). Without a base
/// (a version from before revisions were kept), every difference is a conflict.
pub fn merge(
    base: Option<&IncidentFields>,
    theirs: &IncidentFields,
    mine: &IncidentFields,
) -> Merge {
    let mut fields = theirs.clone();
    let mut conflicts = Vec::new();
    macro_rules! merge_one {
        ($f:ident, $name:literal) => {
            let i_changed = base.is_none_or(|b| b.$f != mine.$f);
            let they_changed = base.is_none_or(|b| b.$f != theirs.$f);
            if i_changed {
                fields.$f = mine.$f.clone();
                if they_changed && theirs.$f != mine.$f {
                    conflicts.push($name);
                }
            }
        };
    }
    each_field!(merge_one);
    Merge { fields, conflicts }
}

/// Names of the fields that differ between two sets of values, in form order.
pub fn changed_fields(a: &IncidentFields, b: &IncidentFields) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! differs {
        ($f:ident, $name:literal) => {
            if a.$f != b.$f {
                out.push($name);
            }
        };
    }
    each_field!(differs);
    out
}

/// Sets `field` (a name from [`merge`]'s conflicts) in `to` to its value in `from`.
pub fn take(field: &str, from: &IncidentFields, to: &mut IncidentFields) {
    macro_rules! take_one {
        ($f:ident, $name:literal) => {
            if field == $name {
                to.$f = from.$f.clone();
            }
        };
    }
    each_field!(take_one);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::{Severity, Status};

    fn fields() -> IncidentFields {
        IncidentFields {
            title: "Checkout fails".into(),
            severity: Severity::Sev2,
            status: Status::Investigating,
            impact: String::new(),
            users_affected_pct: None,
            services: vec!["checkout".into()],
            commander_id: None,
            comms_lead_id: None,
            scribe_id: None,
            ops_lead_id: None,
            started_at: chrono::NaiveDateTime::default(),
            detected_at: None,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
        }
    }

    #[test]
    fn merges_three_ways() {
        let base = fields();
        let theirs = IncidentFields {
            severity: Severity::Sev1,
            impact: "Half of payments fail".into(),
            ..base.clone()
        };
        let mine = IncidentFields {
            title: "Checkout fails for EU cards".into(),
            impact: "EU cards declined".into(),
            ..base.clone()
        };
        let m = merge(Some(&base), &theirs, &mine);
        // Their severity stays (not undone by the form's stale SEV2), my title stays,
        // and the impact both changed is a conflict holding mine.
        assert_eq!(m.fields.severity, Severity::Sev1);
        assert_eq!(m.fields.title, "Checkout fails for EU cards");
        assert_eq!(m.fields.impact, "EU cards declined");
        assert_eq!(m.conflicts, vec!["impact"]);
        // The same change on both sides is no conflict.
        let same = merge(Some(&base), &theirs, &theirs);
        assert!(same.conflicts.is_empty());
        // Without a base, every difference is a conflict.
        let blind = merge(None, &theirs, &mine);
        assert_eq!(blind.conflicts, vec!["title", "severity", "impact"]);
        let mut to = m.fields.clone();
        take("impact", &theirs, &mut to);
        assert_eq!(to.impact, "Half of payments fail");
    }
}
