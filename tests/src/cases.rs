//! Cases as staff see them.

use std::time::Duration;

use crate::{Client, eventually};

/// The id of the case of report `tracking`, once routing lists it to `viewer`.
pub async fn case_id(viewer: &Client, tracking: &str) -> String {
    eventually("the case", Duration::from_secs(30), || async {
        let list = viewer.get("/api/v1/cases").await.expect(200).body;
        list["cases"]
            .as_array()?
            .iter()
            .find(|c| c["tracking_number"] == tracking)
            .and_then(|c| c["id"].as_str().map(str::to_owned))
    })
    .await
}
