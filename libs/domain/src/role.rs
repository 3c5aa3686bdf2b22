//! Staff roles. Each tenant role is held at a grid node; county roles belong to no tenant.

use serde::{Deserialize, Serialize};

/// A staff role.
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
pub enum Role {
    /// 网格员: handles the cases of a grid.
    GridWorker,
    /// 网格长: supervises the grid workers of a grid or village.
    GridLeader,
    /// 第一书记 / 村支书: the head of a village.
    VillageHead,
    /// 综治中心: the township's dispatch desk.
    TownshipCentre,
    /// The township's administrator (directory, people, QR codes).
    TownshipAdmin,
    /// 县综治中心: watches every township.
    CountyCentre,
    /// The county's administrator (tenants).
    CountyAdmin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 7] = [
        Self::GridWorker,
        Self::GridLeader,
        Self::VillageHead,
        Self::TownshipCentre,
        Self::TownshipAdmin,
        Self::CountyCentre,
        Self::CountyAdmin,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GridWorker => "grid_worker",
            Self::GridLeader => "grid_leader",
            Self::VillageHead => "village_head",
            Self::TownshipCentre => "township_centre",
            Self::TownshipAdmin => "township_admin",
            Self::CountyCentre => "county_centre",
            Self::CountyAdmin => "county_admin",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// Whether the role belongs to the county rather than a township.
    pub fn is_county(self) -> bool {
        matches!(self, Self::CountyCentre | Self::CountyAdmin)
    }

    /// The Chinese name shown to staff.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::GridWorker => "网格员",
            Self::GridLeader => "网格长",
            Self::VillageHead => "村负责人",
            Self::TownshipCentre => "镇综治中心",
            Self::TownshipAdmin => "镇管理员",
            Self::CountyCentre => "县综治中心",
            Self::CountyAdmin => "县管理员",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_split_by_level() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!(Role::CountyAdmin.is_county());
        assert!(!Role::GridWorker.is_county());
        assert_eq!(Role::parse("admin"), None);
    }
}
