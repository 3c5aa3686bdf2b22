//! The citizen pages' stylesheet and script, served by the shared page layer under
//! `/static/intake/{version}/`.

use std::sync::LazyLock;

use mashang_web::{Asset, Assets};

const FILES: [Asset; 2] = [
    Asset::css("intake.css", include_str!("../static/intake.css")),
    Asset::js("intake.js", include_str!("../static/intake.js")),
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
