//! The grid tree: a tenant's township, its villages and communities, their grids.

use serde::{Deserialize, Serialize};

/// The kind of a grid-tree node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// 镇/乡: the root of a tenant's tree.
    Township,
    /// 村: a village under the township.
    Village,
    /// 社区: a residential community under the township.
    Community,
    /// 网格 (社/组): the smallest area with a responsible worker.
    Grid,
    /// A further level below a grid (楼栋, 片区), where a township uses one.
    Subgrid,
    /// A township office or committee that handles some categories (卫生院, 调解委员会).
    Office,
}

impl NodeKind {
    /// Every kind, in the order they are documented.
    pub const ALL: [NodeKind; 6] = [
        Self::Township,
        Self::Village,
        Self::Community,
        Self::Grid,
        Self::Subgrid,
        Self::Office,
    ];

    /// The stored and exchanged name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Township => "township",
            Self::Village => "village",
            Self::Community => "community",
            Self::Grid => "grid",
            Self::Subgrid => "subgrid",
            Self::Office => "office",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// The Chinese name shown to township staff.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Township => "乡镇",
            Self::Village => "村",
            Self::Community => "社区",
            Self::Grid => "网格",
            Self::Subgrid => "微网格",
            Self::Office => "站所",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in NodeKind::ALL {
            assert_eq!(NodeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NodeKind::parse("county"), None);
    }
}
