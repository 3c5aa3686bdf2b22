use super::*;

fn params(from: &str, to: &str) -> ExportParams {
    ExportParams {
        from: Some(from.into()),
        to: Some(to.into()),
        ..ExportParams::default()
    }
}

fn fields(result: Result<(ExportFilter, CsvEncoding), Vec<FieldError>>) -> Vec<String> {
    match result {
        Err(errors) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("refused, not {other:?}"),
    }
}

#[test]
fn a_period_of_a_leap_year_is_accepted_and_one_day_more_is_not() {
    let (filter, encoding) = params("2028-01-01", "2028-12-31")
        .check_fields(false)
        .expect("366 days");
    assert_eq!(filter.from.to_string(), "2028-01-01");
    assert_eq!(encoding, CsvEncoding::Utf8Bom);
    assert_eq!(
        fields(params("2026-01-01", "2027-01-02").check_fields(false)),
        ["to"]
    );
    assert!(
        params("2026-05-01", "2026-05-01")
            .check_fields(false)
            .is_ok(),
        "one day"
    );
}

#[test]
fn dates_must_be_given_well_formed_and_in_order() {
    assert_eq!(
        fields(ExportParams::default().check_fields(false)),
        ["from", "to"]
    );
    assert_eq!(
        fields(params("2026-1-5", "2026-02-30").check_fields(false)),
        ["from", "to"]
    );
    assert_eq!(
        fields(params("2026-03-02", "2026-03-01").check_fields(false)),
        ["to"]
    );
    assert_eq!(
        fields(params("yesterday", "2026-03-01").check_fields(false)),
        ["from"]
    );
}

#[test]
fn filters_are_parsed_and_each_bad_one_is_named() {
    let good = ExportParams {
        node_id: Some("0192b5a0-0000-7000-8000-000000000001".into()),
        handler: Some("0192b5a0-0000-7000-8000-000000000002".into()),
        category: Some("road_lights".into()),
        status: Some("in_progress".into()),
        channel: Some("qr".into()),
        encoding: Some("GB18030".into()),
        ..params("2026-01-01", "2026-01-31")
    };
    let (filter, encoding) = good.check_fields(false).expect("good filters");
    assert_eq!(filter.status, Some("in_progress"));
    assert_eq!(filter.channel, Some("qr"));
    assert_eq!(filter.category.as_deref(), Some("road_lights"));
    assert!(filter.node.is_some() && filter.handler.is_some());
    assert_eq!(encoding, CsvEncoding::Gb18030);

    let bad = ExportParams {
        node_id: Some("42".into()),
        handler: Some("me".into()),
        category: Some("x'; drop table".into()),
        status: Some("lost".into()),
        channel: Some("fax".into()),
        encoding: Some("latin1".into()),
        township: Some("ct".into()),
        ..params("2026-01-01", "2026-01-31")
    };
    assert_eq!(
        fields(bad.check_fields(false)),
        [
            "node_id", "handler", "category", "status", "channel", "encoding", "township"
        ]
    );
}

#[test]
fn only_the_county_names_a_township_and_blank_filters_are_no_filters() {
    let county = ExportParams {
        township: Some("ct".into()),
        category: Some("  ".into()),
        ..params("2026-01-01", "2026-01-31")
    };
    let (filter, _) = county.check_fields(true).expect("county");
    assert_eq!(
        filter.township.map(|t| t.to_string()).as_deref(),
        Some("ct")
    );
    assert_eq!(filter.category, None);
    assert_eq!(fields(county.check_fields(false)), ["township"]);
    let bad = ExportParams {
        township: Some("Not A Code".into()),
        ..params("2026-01-01", "2026-01-31")
    };
    assert_eq!(fields(bad.check_fields(true)), ["township"]);
}

#[test]
fn the_county_filters_by_node_only_within_a_named_township() {
    let node = ExportParams {
        node_id: Some("0192b5a0-0000-7000-8000-000000000001".into()),
        ..params("2026-01-01", "2026-01-31")
    };
    assert!(node.check_fields(false).is_ok());
    assert_eq!(fields(node.check_fields(true)), ["node_id"]);
    let named = ExportParams {
        township: Some("ct".into()),
        ..node
    };
    assert!(named.check_fields(true).is_ok());
}

#[test]
fn malformed_input_is_a_bad_request_naming_each_field() {
    let bad = ExportParams {
        encoding: Some("latin1".into()),
        ..params("2026-01-01", "2025-01-01")
    };
    match bad.check(false) {
        Err(ApiError::BadRequest(detail)) => {
            assert!(detail.starts_with("to: "), "{detail}");
            assert!(detail.contains("; encoding: "), "{detail}");
        }
        other => panic!("a 400, not {other:?}"),
    }
}
