//! Todo CRUD through HTTP, scoped to the owner.

use serde_json::{Value, json};
use todos_tests::{spawn_app, status_and_json};

#[tokio::test]
async fn create_list_toggle_and_delete() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;

    let (status, created) = status_and_json(
        app.create_todo(&token, &json!({ "contents": "buy milk" }))
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let id = created["id"].as_i64().unwrap();
    let stamp = created["created_at"].clone();
    assert_eq!(
        created,
        json!({
            "id": id, "contents": "buy milk", "is_done": false,
            "created_at": stamp, "updated_at": stamp
        })
    );

    let (status, done) = status_and_json(
        app.create_todo(
            &token,
            &json!({ "contents": "already done", "is_done": true }),
        )
        .await,
    )
    .await;
    assert_eq!((status, done["is_done"].clone()), (201, json!(true)));

    let (status, fetched) = status_and_json(app.get_todo(&token, &id.to_string()).await).await;
    assert_eq!((status, fetched), (200, created.clone()));

    let (status, toggled) = status_and_json(
        app.update_todo(&token, &id.to_string(), &json!({ "is_done": true }))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        toggled,
        json!({
            "id": id, "contents": "buy milk", "is_done": true,
            "created_at": stamp, "updated_at": toggled["updated_at"]
        })
    );
    assert!(toggled["updated_at"].as_str() > stamp.as_str(), "{toggled}");
    // Setting the same state again is not an error.
    let response = app
        .update_todo(&token, &id.to_string(), &json!({ "is_done": true }))
        .await;
    assert_eq!(response.status(), 200);

    let (status, list) = status_and_json(app.list_todos(&token, "").await).await;
    assert_eq!(status, 200);
    assert_eq!(list["todos"].as_array().unwrap().len(), 2);

    let response = app.delete_todo(&token, &id.to_string()).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    assert_eq!(
        status_and_json(app.get_todo(&token, &id.to_string()).await).await,
        (404, json!({ "detail": "ToDo Not Found" }))
    );
    assert_eq!(app.delete_todo(&token, &id.to_string()).await.status(), 404);
}

#[tokio::test]
async fn list_is_by_id_ascending_by_default_and_order_is_case_insensitive() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let mut ids = Vec::new();
    for contents in ["one", "two", "three"] {
        ids.push(app.new_todo(&token, contents).await);
    }
    let listed = |body: Value| -> Vec<i64> {
        body["todos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    let mut reversed = ids.clone();
    reversed.reverse();

    for (query, expected) in [
        ("", &ids),
        ("?order=ASC", &ids),
        ("?order=asc", &ids),
        ("?order=DESC", &reversed),
        ("?order=dEsC", &reversed),
    ] {
        let (status, body) = status_and_json(app.list_todos(&token, query).await).await;
        assert_eq!(status, 200);
        assert_eq!(&listed(body), expected, "{query}");
    }

    let (status, body) = status_and_json(app.list_todos(&token, "?order=sideways").await).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["query", "order"]));
}

#[tokio::test]
async fn another_users_todo_is_not_found_and_unchanged() {
    let app = spawn_app().await;
    let alice = app.token_for("alice").await;
    let mallory = app.token_for("mallory").await;
    let id = app.new_todo(&alice, "private").await.to_string();

    let not_found = (404, json!({ "detail": "ToDo Not Found" }));
    assert_eq!(
        status_and_json(app.get_todo(&mallory, &id).await).await,
        not_found
    );
    assert_eq!(
        status_and_json(
            app.update_todo(&mallory, &id, &json!({ "is_done": true }))
                .await
        )
        .await,
        not_found
    );
    assert_eq!(
        status_and_json(app.delete_todo(&mallory, &id).await).await,
        not_found
    );
    let (_, list) = status_and_json(app.list_todos(&mallory, "").await).await;
    assert_eq!(list, json!({ "todos": [], "next": null }));

    let (status, still) = status_and_json(app.get_todo(&alice, &id).await).await;
    assert_eq!((status, still["is_done"].clone()), (200, json!(false)));
}

#[tokio::test]
async fn bad_path_ids_are_422_and_unknown_ids_404() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    for bad in [
        "abc",
        "1.5",
        "0",
        "-1",
        "9223372036854775808",
        "99999999999999999999",
    ] {
        for response in [
            app.get_todo(&token, bad).await,
            app.update_todo(&token, bad, &json!({ "is_done": true }))
                .await,
            app.delete_todo(&token, bad).await,
        ] {
            let (status, body) = status_and_json(response).await;
            assert_eq!(status, 422, "{bad}");
            assert_eq!(
                body["detail"][0]["loc"],
                json!(["path", "todo_id"]),
                "{bad}"
            );
        }
    }
    assert_eq!(
        app.get_todo(&token, "9223372036854775807").await.status(),
        404
    );
}

#[tokio::test]
async fn invalid_todo_bodies_are_422_naming_the_field_and_store_nothing() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let cases = [
        (json!({}), "contents"),
        (json!({ "contents": "" }), "contents"),
        (json!({ "contents": "x".repeat(257) }), "contents"),
        (json!({ "contents": 42 }), "contents"),
        (json!({ "contents": "ok", "is_done": "yes" }), "is_done"),
    ];
    for (body, field) in cases {
        let (status, answer) = status_and_json(app.create_todo(&token, &body).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            answer["detail"][0]["loc"],
            json!(["body", field]),
            "{body} → {answer}"
        );
    }
    let (_, list) = status_and_json(app.list_todos(&token, "").await).await;
    assert_eq!(list, json!({ "todos": [], "next": null }));

    let id = app.new_todo(&token, "keep me").await.to_string();
    // A PATCH needs one of contents and is_done: without either, both are named.
    for (body, named) in [
        (json!({}), vec!["contents", "is_done"]),
        (json!({ "is_done": null }), vec!["is_done"]),
        (json!({ "is_done": "true" }), vec!["is_done"]),
    ] {
        let (status, answer) = status_and_json(app.update_todo(&token, &id, &body).await).await;
        assert_eq!(status, 422, "{body}");
        let locations: Vec<&Value> = answer["detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| &error["loc"][1])
            .collect();
        assert_eq!(locations, named, "{body} → {answer}");
    }
    let (_, todo) = status_and_json(app.get_todo(&token, &id).await).await;
    assert_eq!(todo["is_done"], false);
}

#[tokio::test]
async fn contents_are_stored_verbatim() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    for contents in [
        "'; DROP TABLE todo; --",
        "ünïcødé ✓ 漢字 🎉",
        &"é".repeat(256),
        "  spaced  ",
    ] {
        let id = app.new_todo(&token, contents).await;
        let (_, todo) = status_and_json(app.get_todo(&token, &id.to_string()).await).await;
        assert_eq!(todo["contents"], contents);
    }
}

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let big = format!(r#"{{"contents":"{}"}}"#, "x".repeat(64 * 1024));
    let response = app
        .post_raw(
            "/todos",
            Some(&token),
            Some("application/json"),
            big.clone(),
        )
        .await;
    assert_eq!(status_and_json(response).await.0, 413);

    // Streamed without a Content-Length, the limit still holds.
    let stream = futures_stream(big.into_bytes());
    let response = app
        .post_raw(
            "/todos",
            Some(&token),
            Some("application/json"),
            reqwest::Body::wrap_stream(stream),
        )
        .await;
    assert_eq!(status_and_json(response).await.0, 413);

    let (_, list) = status_and_json(app.list_todos(&token, "").await).await;
    assert_eq!(list, json!({ "todos": [], "next": null }));
}

fn futures_stream(
    bytes: Vec<u8>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(8 * 1024).map(|c| Ok(c.to_vec())).collect();
    futures_util::stream::iter(chunks)
}
