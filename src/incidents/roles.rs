//! The roles beside an incident's commander, by name, and who holds them.

/// An incident role beside the commander.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentRole {
    CommunicationsLead,
    Scribe,
    OperationsLead,
}

impl IncidentRole {
    pub const ALL: [IncidentRole; 3] = [
        IncidentRole::CommunicationsLead,
        IncidentRole::Scribe,
        IncidentRole::OperationsLead,
    ];

    /// Its name in forms, the API and documents.
    pub fn name(self) -> &'static str {
        match self {
            IncidentRole::CommunicationsLead => "communications_lead",
            IncidentRole::Scribe => "scribe",
            IncidentRole::OperationsLead => "operations_lead",
        }
    }

    /// As pages say it.
    pub fn label(self) -> &'static str {
        match self {
            IncidentRole::CommunicationsLead => "Communications lead",
            IncidentRole::Scribe => "Scribe",
            IncidentRole::OperationsLead => "Operations lead",
        }
    }
}

/// Who holds each role beside the commander: user ids, usernames, or what a form typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roles<T> {
    pub communications_lead: Option<T>,
    pub scribe: Option<T>,
    pub operations_lead: Option<T>,
}

impl<T> Default for Roles<T> {
    fn default() -> Self {
        Roles {
            communications_lead: None,
            scribe: None,
            operations_lead: None,
        }
    }
}

impl<T> Roles<T> {
    /// Each role's holder from `f`.
    pub fn from_fn(mut f: impl FnMut(IncidentRole) -> Option<T>) -> Self {
        Roles {
            communications_lead: f(IncidentRole::CommunicationsLead),
            scribe: f(IncidentRole::Scribe),
            operations_lead: f(IncidentRole::OperationsLead),
        }
    }

    fn slot(&mut self, role: IncidentRole) -> &mut Option<T> {
        match role {
            IncidentRole::CommunicationsLead => &mut self.communications_lead,
            IncidentRole::Scribe => &mut self.scribe,
            IncidentRole::OperationsLead => &mut self.operations_lead,
        }
    }

    pub fn get(&self, role: IncidentRole) -> Option<&T> {
        match role {
            IncidentRole::CommunicationsLead => self.communications_lead.as_ref(),
            IncidentRole::Scribe => self.scribe.as_ref(),
            IncidentRole::OperationsLead => self.operations_lead.as_ref(),
        }
    }

    pub fn set(&mut self, role: IncidentRole, holder: Option<T>) {
        *self.slot(role) = holder;
    }

    /// The roles with their holders, in [`IncidentRole::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (IncidentRole, Option<&T>)> {
        IncidentRole::ALL.into_iter().map(move |r| (r, self.get(r)))
    }

    /// Each holder through `f` (a holder `f` maps to nothing is no holder).
    pub fn and_then<U>(self, mut f: impl FnMut(T) -> Option<U>) -> Roles<U> {
        Roles {
            communications_lead: self.communications_lead.and_then(&mut f),
            scribe: self.scribe.and_then(&mut f),
            operations_lead: self.operations_lead.and_then(&mut f),
        }
    }
}
