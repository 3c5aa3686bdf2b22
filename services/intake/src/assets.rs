//! The citizen pages' stylesheet and script, and the staff files of the 代为上报 page,
//! served by the shared page layer under
//! `/static/intake/{version}/`.

use std::sync::LazyLock;

use mashang_web::{Asset, Assets};

const FILES: [Asset; 5] = [
    Asset::css("intake.css", include_str!("../static/intake.css")),
    Asset::js("intake.js", include_str!("../static/intake.js")),
    // The staff's 代为上报 page: the shared staff files and its own few rules.
    mashang_web::assets::STAFF_CSS,
    mashang_web::assets::HEADER_JS,
    Asset::css("assisted.css", include_str!("../static/assisted.css")),
];

/// Intake's files.
pub static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets::new("intake", &FILES));

/// The stylesheet's URL.
pub fn css_url() -> String {
    ASSETS.url("intake.css")
}

/// The script's URL.
pub fn js_url() -> String {
    ASSETS.url("intake.js")
}
