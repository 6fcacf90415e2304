//! GET /v1/places/{query}: offline geocoding from the shipped postcode table.
mod common;

use common::with_app;

#[tokio::test]
async fn full_postcodes_are_exact_and_normalised() {
    with_app(&[], |app| async move {
        for raw in ["E8%203PL", "e83pl", "%20E8%20%203PL%20", "e8%203pl"] {
            let p = app.get_json(&format!("/v1/places/{raw}")).await;
            assert_eq!(p["postcode"], "E8 3PL", "{raw}");
            assert_eq!(p["outcode"], "E8");
            assert_eq!(p["precision"], "postcode");
            assert_eq!(p["borough"]["slug"], "hackney");
            assert_eq!(p["borough"]["gss_code"], "E09000012");
            assert_eq!(p["borough"]["name"], "Hackney");
            // The table's own coordinates for E8 3PL.
            assert_eq!(p["lat"], 51.5405);
            assert_eq!(p["lon"], -0.05735);
        }
        let q = app.get_json("/v1/places/e83pl").await;
        assert_eq!(q["query"], "e83pl", "the query is echoed as sent");
        let kings = app.get_json("/v1/places/SE5%209RS").await;
        assert_eq!(kings["borough"]["slug"], "lambeth");
    })
    .await;
}

#[tokio::test]
async fn outward_codes_answer_the_district_centre() {
    with_app(&[], |app| async move {
        let p = app.get_json("/v1/places/e8").await;
        assert_eq!(p["postcode"], serde_json::Value::Null);
        assert_eq!(p["outcode"], "E8");
        assert_eq!(p["precision"], "district");
        assert_eq!(p["borough"]["slug"], "hackney");
        let lat = p["lat"].as_f64().unwrap();
        assert!((lat - 51.544).abs() < 0.01, "{lat}");
        // A district that crosses the boundary answers with its London part.
        let cr3 = app.get_json("/v1/places/CR3").await;
        assert_eq!(cr3["borough"]["slug"], "croydon");
    })
    .await;
}

#[tokio::test]
async fn outside_london_is_404_and_malformed_is_422() {
    with_app(&[], |app| async move {
        let p = app.get_problem("/v1/places/EH1%202NG", 404).await;
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("not a London postcode"),
            "{p}"
        );
        let p = app.get_problem("/v1/places/M1", 404).await;
        assert!(p["detail"].as_str().unwrap().contains("M1"));
        // Mostly outside London: asks for the full postcode.
        let p = app.get_problem("/v1/places/DA1", 404).await;
        assert!(
            p["detail"].as_str().unwrap().contains("full postcode"),
            "{p}"
        );
        for bad in ["hackney", "E8%203P", "12345", "E8%203PLX", "%F0%9F%94%AA"] {
            let p = app.get_problem(&format!("/v1/places/{bad}"), 422).await;
            assert_eq!(p["errors"][0]["field"], "query", "{bad}");
        }
    })
    .await;
}
