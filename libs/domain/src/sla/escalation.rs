//! The escalation ladder (督办 / 上报): grid worker → grid leader → village head →
//! township centre. The county is a level only a person can send a case to.

use serde::{Deserialize, Serialize};

use super::policy::TargetKind;
use crate::role::Role;

/// A rung of the escalation ladder, lowest first.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EscalationLevel {
    /// 网格员.
    GridWorker,
    /// 网格长.
    GridLeader,
    /// 村负责人.
    VillageHead,
    /// 镇综治中心.
    TownshipCentre,
    /// 县综治中心: reached only by a person's decision, never automatically.
    County,
}

impl EscalationLevel {
    /// Every level, lowest first.
    pub const ALL: [EscalationLevel; 5] = [
        Self::GridWorker,
        Self::GridLeader,
        Self::VillageHead,
        Self::TownshipCentre,
        Self::County,
    ];

    /// The level an automatic escalation goes to; `None` from the township centre (the
    /// county only by a person) and from the county.
    pub fn next_level(self) -> Option<Self> {
        match self {
            Self::GridWorker => Some(Self::GridLeader),
            Self::GridLeader => Some(Self::VillageHead),
            Self::VillageHead => Some(Self::TownshipCentre),
            Self::TownshipCentre | Self::County => None,
        }
    }

    /// The role that holds this level.
    pub fn role(self) -> Role {
        match self {
            Self::GridWorker => Role::GridWorker,
            Self::GridLeader => Role::GridLeader,
            Self::VillageHead => Role::VillageHead,
            Self::TownshipCentre => Role::TownshipCentre,
            Self::County => Role::CountyCentre,
        }
    }

    /// The level a role holds, if it is on the ladder.
    pub fn of_role(role: Role) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.role() == role)
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GridWorker => "grid_worker",
            Self::GridLeader => "grid_leader",
            Self::VillageHead => "village_head",
            Self::TownshipCentre => "township_centre",
            Self::County => "county",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == raw)
    }
}

/// How far each target of a case has climbed, so that it climbs each level at most
/// once per target: at most three automatic escalations per target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationRecord {
    /// The highest level reached for the first-response target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<EscalationLevel>,
    /// The highest level reached for the resolution target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<EscalationLevel>,
    /// The highest level reached for the follow-up target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<EscalationLevel>,
}

impl EscalationRecord {
    /// The highest level reached for a target.
    pub fn reached(&self, target: TargetKind) -> Option<EscalationLevel> {
        *self.slot(target)
    }

    /// On a breach of `target` while the case is held at `from`: the level to escalate
    /// to, recorded, or `None` when the ladder ends or that level was already reached
    /// for this target.
    pub fn climb(&mut self, target: TargetKind, from: EscalationLevel) -> Option<EscalationLevel> {
        let next = from.next_level()?;
        let slot = self.slot_mut(target);
        if slot.is_some_and(|reached| reached >= next) {
            return None;
        }
        *slot = Some(next);
        Some(next)
    }

    /// Forgets a target's climb (when the target is started afresh on reopening).
    pub fn reset(&mut self, target: TargetKind) {
        *self.slot_mut(target) = None;
    }

    fn slot(&self, target: TargetKind) -> &Option<EscalationLevel> {
        match target {
            TargetKind::FirstResponse => &self.first_response,
            TargetKind::Resolution => &self.resolution,
            TargetKind::FollowUp => &self.follow_up,
        }
    }

    fn slot_mut(&mut self, target: TargetKind) -> &mut Option<EscalationLevel> {
        match target {
            TargetKind::FirstResponse => &mut self.first_response,
            TargetKind::Resolution => &mut self.resolution,
            TargetKind::FollowUp => &mut self.follow_up,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_stops_at_the_township_centre() {
        use EscalationLevel::*;
        assert_eq!(GridWorker.next_level(), Some(GridLeader));
        assert_eq!(GridLeader.next_level(), Some(VillageHead));
        assert_eq!(VillageHead.next_level(), Some(TownshipCentre));
        assert_eq!(
            TownshipCentre.next_level(),
            None,
            "the county only by a person"
        );
        assert_eq!(County.next_level(), None);
        for level in EscalationLevel::ALL {
            assert_eq!(EscalationLevel::parse(level.as_str()), Some(level));
            assert_eq!(EscalationLevel::of_role(level.role()), Some(level));
        }
        assert_eq!(EscalationLevel::of_role(Role::TownshipAdmin), None);
    }

    #[test]
    fn each_level_is_climbed_once_per_target() {
        use EscalationLevel::*;
        let mut record = EscalationRecord::default();
        let r = TargetKind::Resolution;
        assert_eq!(record.climb(r, GridWorker), Some(GridLeader));
        assert_eq!(
            record.climb(r, GridWorker),
            None,
            "grid leader already reached"
        );
        assert_eq!(record.climb(r, GridLeader), Some(VillageHead));
        assert_eq!(record.climb(r, VillageHead), Some(TownshipCentre));
        assert_eq!(record.climb(r, TownshipCentre), None);
        assert_eq!(record.climb(r, GridLeader), None, "never down again");
        assert_eq!(
            record.climb(TargetKind::FirstResponse, GridWorker),
            Some(GridLeader),
            "targets climb separately"
        );
        let json = serde_json::to_string(&record).expect("serialises");
        assert_eq!(
            serde_json::from_str::<EscalationRecord>(&json).expect("deserialises"),
            record
        );
        record.reset(r);
        assert_eq!(record.reached(r), None);
        assert_eq!(record.climb(r, GridWorker), Some(GridLeader));
    }
}
