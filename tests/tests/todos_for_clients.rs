//! Todos for real clients (README: "For client authors"): timestamps,
//! PATCH of contents, keyset pages with a `next` link, ETags and
//! preconditions, idempotent creation. On SQLite, and on MariaDB or
//! PostgreSQL (+ Redis) when DATABASE_URL / REDIS_URL are set.

use std::{collections::BTreeSet, time::Duration};

use futures_util::{StreamExt, stream};
use reqwest::{Method, Response, header};
use serde_json::{Value, json};
use todos_tests::{TestApp, spawn_app, status_and_json};

/// The `loc` of every error in a 422 body, as `where.name`.
fn error_locations(body: &Value) -> Vec<String> {
    body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("a list of errors: {body}"))
        .iter()
        .map(|error| {
            let loc: Vec<&str> = error["loc"]
                .as_array()
                .unwrap()
                .iter()
                .map(|part| part.as_str().unwrap())
                .collect();
            loc.join(".")
        })
        .collect()
}

async fn assert_422_at(response: Response, locations: &[&str]) {
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_locations(&body), locations, "{body}");
}

fn etag_of(response: &Response) -> String {
    response.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned()
}

/// `method path` as `token`, with extra `headers` and a JSON `body`.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// GET `path` with `If-None-Match: tag`.
async fn if_none_match(app: &TestApp, path: &str, token: &str, tag: &str) -> Response {
    send(
        app,
        Method::GET,
        path,
        token,
        &[("if-none-match", tag)],
        None,
    )
    .await
}

/// PATCH `path` with `If-Match: tag`.
async fn patch_if_match(
    app: &TestApp,
    path: &str,
    token: &str,
    tag: &str,
    body: Option<&Value>,
) -> Response {
    send(app, Method::PATCH, path, token, &[("if-match", tag)], body).await
}

/// DELETE `path` with `If-Match: tag`.
async fn delete_if_match(app: &TestApp, path: &str, token: &str, tag: &str) -> Response {
    send(app, Method::DELETE, path, token, &[("if-match", tag)], None).await
}

// ---- timestamps and PATCH ------------------------------------------------------

#[tokio::test]
async fn todos_carry_timestamps_and_every_change_moves_updated_at() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let (status, created) = status_and_json(
        app.create_todo(&token, &json!({ "contents": "buy milk" }))
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let fields: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["contents", "created_at", "id", "is_done", "updated_at"]
    );
    let created_at = created["created_at"].as_str().unwrap().to_owned();
    assert_eq!(created["updated_at"], created["created_at"]);
    assert!(
        chrono::DateTime::parse_from_rfc3339(&created_at).is_ok() && created_at.ends_with('Z'),
        "{created_at}"
    );
    let id = created["id"].to_string();

    // Changes in quick succession each move updated_at forward, even
    // one that sets what is already there.
    let mut last = created_at.clone();
    for change in [
        json!({ "is_done": true }),
        json!({ "is_done": true }),
        json!({ "contents": "buy oat milk" }),
    ] {
        let (status, updated) = status_and_json(app.update_todo(&token, &id, &change).await).await;
        assert_eq!(status, 200, "{updated}");
        let updated_at = updated["updated_at"].as_str().unwrap().to_owned();
        let (before, after) = (
            chrono::DateTime::parse_from_rfc3339(&last).unwrap(),
            chrono::DateTime::parse_from_rfc3339(&updated_at).unwrap(),
        );
        assert!(after > before, "{last} then {updated_at}");
        assert_eq!(updated["created_at"], json!(created_at));
        last = updated_at;
    }
}

#[tokio::test]
async fn patch_sets_contents_and_or_is_done_each_validated_as_at_creation() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let id = app.new_todo(&token, "buy milk").await.to_string();

    let (_, updated) = status_and_json(
        app.update_todo(&token, &id, &json!({ "contents": "buy oat milk" }))
            .await,
    )
    .await;
    assert_eq!(
        (&updated["contents"], &updated["is_done"]),
        (&json!("buy oat milk"), &json!(false))
    );
    let (_, updated) = status_and_json(
        app.update_todo(
            &token,
            &id,
            &json!({ "contents": "buy soy milk", "is_done": true }),
        )
        .await,
    )
    .await;
    assert_eq!(
        (&updated["contents"], &updated["is_done"]),
        (&json!("buy soy milk"), &json!(true))
    );

    for empty in [json!({}), json!({ "other": 1 })] {
        assert_422_at(
            app.update_todo(&token, &id, &empty).await,
            &["body.contents", "body.is_done"],
        )
        .await;
    }
    for bad in [
        json!({ "contents": null, "is_done": true }),
        json!({ "contents": "" }),
        json!({ "contents": "x".repeat(257), "is_done": false }),
        json!({ "contents": "a\u{0}b" }),
    ] {
        assert_422_at(app.update_todo(&token, &id, &bad).await, &["body.contents"]).await;
    }
    assert_422_at(
        app.update_todo(&token, &id, &json!({ "is_done": "yes" }))
            .await,
        &["body.is_done"],
    )
    .await;

    let (_, now) = status_and_json(app.get_todo(&token, &id).await).await;
    assert_eq!(now, updated, "nothing changed since");
}

// ---- pages ------------------------------------------------------------------------

/// Creates `n` todos for `token`, every third one done; their ids.
async fn create_many(app: &TestApp, token: &str, n: usize) -> Vec<(i64, bool)> {
    let mut created: Vec<(i64, bool)> = stream::iter(0..n)
        .map(|i| async move {
            let is_done = i % 3 == 0;
            let response = app
                .create_todo(
                    token,
                    &json!({ "contents": format!("todo {i}"), "is_done": is_done }),
                )
                .await;
            assert_eq!(response.status(), 201);
            let body: Value = response.json().await.unwrap();
            (body["id"].as_i64().unwrap(), is_done)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    created.sort();
    created
}

/// Follows `next` from `first` to the end: the ids, page by page.
async fn walk(app: &TestApp, token: &str, first: &str) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut path = Some(first.to_owned());
    while let Some(current) = path {
        let (status, body) =
            status_and_json(app.list_todos(token, &current["/todos".len()..]).await).await;
        assert_eq!(status, 200, "{current}: {body}");
        pages.push(
            body["todos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|todo| todo["id"].as_i64().unwrap())
                .collect(),
        );
        path = body["next"].as_str().map(str::to_owned);
        assert!(pages.len() <= 3000, "the walk does not end");
    }
    pages
}

#[tokio::test]
async fn paging_through_2500_todos_gives_each_exactly_once_in_both_orders_and_filters() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let other = app.token_for("bob").await;
    let todos = create_many(&app, &token, 2500).await;
    create_many(&app, &other, 30).await;

    for (filter, wanted) in [
        ("", None),
        ("&is_done=true", Some(true)),
        ("&is_done=false", Some(false)),
    ] {
        let expected: Vec<i64> = todos
            .iter()
            .filter(|(_, done)| wanted.is_none_or(|wanted| *done == wanted))
            .map(|(id, _)| *id)
            .collect();
        for (order, limit) in [("ASC", 97), ("DESC", 250), ("asc", 1000)] {
            let first = format!("/todos?order={order}&limit={limit}{filter}");
            let pages = walk(&app, &token, &first).await;
            let ids: Vec<i64> = pages.concat();
            let mut sorted = expected.clone();
            if order.eq_ignore_ascii_case("desc") {
                sorted.reverse();
            }
            assert_eq!(ids, sorted, "{first}");
            assert!(pages.iter().all(|page| page.len() <= limit), "{first}");
            // `next` is null exactly when nothing follows: no empty last page.
            assert!(!pages.last().unwrap().is_empty(), "{first}");
            assert_eq!(pages.len(), expected.len().div_ceil(limit), "{first}");
        }
    }

    // Without `limit`, the first 1000 and a `next` that keeps the order.
    let (_, body) = status_and_json(app.list_todos(&token, "?order=DESC").await).await;
    assert_eq!(body["todos"].as_array().unwrap().len(), 1000);
    let thousandth = body["todos"][999]["id"].as_i64().unwrap();
    assert_eq!(
        body["next"],
        json!(format!("/todos?order=DESC&limit=1000&after={thousandth}"))
    );
}

#[tokio::test]
async fn after_is_any_positive_id_and_next_is_null_exactly_at_the_end() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let ids: Vec<i64> = create_many(&app, &token, 5)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let ids_of = |body: &Value| -> Vec<i64> {
        body["todos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|todo| todo["id"].as_i64().unwrap())
            .collect()
    };

    let (_, body) = status_and_json(app.list_todos(&token, "?limit=5").await).await;
    assert_eq!((ids_of(&body), &body["next"]), (ids.clone(), &Value::Null));
    let (_, body) = status_and_json(app.list_todos(&token, "?limit=4").await).await;
    assert_eq!(
        body["next"],
        json!(format!("/todos?order=ASC&limit=4&after={}", ids[3]))
    );
    // An id that does not exist (deleted) still places the page.
    assert_eq!(
        app.delete_todo(&token, &ids[2].to_string()).await.status(),
        204
    );
    let (_, body) =
        status_and_json(app.list_todos(&token, &format!("?after={}", ids[2])).await).await;
    assert_eq!(ids_of(&body), ids[3..]);
    let (_, body) = status_and_json(
        app.list_todos(&token, &format!("?order=DESC&after={}", ids[2]))
            .await,
    )
    .await;
    assert_eq!(ids_of(&body), [ids[1], ids[0]]);
    let (_, body) =
        status_and_json(app.list_todos(&token, "?after=9223372036854775807").await).await;
    assert_eq!(body, json!({ "todos": [], "next": null }));
}

#[tokio::test]
async fn bad_list_parameters_are_422_naming_the_parameter() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    for (query, name) in [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=-1", "limit"),
        ("?after=0", "after"),
        ("?after=-5", "after"),
        ("?after=x", "after"),
        ("?after=9223372036854775808", "after"),
        ("?is_done=yes", "is_done"),
        ("?is_done=True", "is_done"),
        ("?order=sideways", "order"),
        ("?limit=5&is_done=1", "is_done"),
    ] {
        assert_422_at(
            app.list_todos(&token, query).await,
            &[&format!("query.{name}")],
        )
        .await;
    }
}

// ---- ETags and preconditions ---------------------------------------------------------

#[tokio::test]
async fn etags_come_with_every_todo_and_if_none_match_answers_304() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let created = app
        .create_todo(&token, &json!({ "contents": "buy milk" }))
        .await;
    let etag = etag_of(&created);
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let id = created.json::<Value>().await.unwrap()["id"].to_string();
    let path = format!("/todos/{id}");

    let fetched = app.get_todo(&token, &id).await;
    assert_eq!(etag_of(&fetched), etag, "GET and POST agree");
    let fresh = if_none_match(&app, &path, &token, &etag).await;
    assert_eq!(fresh.status(), 304);
    assert_eq!(etag_of(&fresh), etag);
    assert!(fresh.bytes().await.unwrap().is_empty());
    let listed = if_none_match(&app, &path, &token, "*").await;
    assert_eq!(listed.status(), 304, "`*` matches any current todo");

    let patched = app
        .update_todo(&token, &id, &json!({ "is_done": true }))
        .await;
    let new_etag = etag_of(&patched);
    assert_ne!(new_etag, etag, "a change makes a new ETag");
    let stale = if_none_match(&app, &path, &token, &etag).await;
    assert_eq!(stale.status(), 200);
    assert_eq!(etag_of(&stale), new_etag);

    // A page has an ETag too, which moves when a todo on it changes.
    let page = app.list_todos(&token, "").await;
    let page_etag = etag_of(&page);
    let fresh = if_none_match(&app, "/todos", &token, &page_etag).await;
    assert_eq!(
        (fresh.status().as_u16(), etag_of(&fresh)),
        (304, page_etag.clone())
    );
    app.update_todo(&token, &id, &json!({ "contents": "buy oat milk" }))
        .await;
    let changed = if_none_match(&app, "/todos", &token, &page_etag).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(etag_of(&changed), page_etag);
}

#[tokio::test]
async fn if_match_guards_patch_and_delete() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let created = app
        .create_todo(&token, &json!({ "contents": "buy milk" }))
        .await;
    let first = etag_of(&created);
    let id = created.json::<Value>().await.unwrap()["id"].to_string();
    let path = format!("/todos/{id}");
    let done = json!({ "is_done": true });

    let current = patch_if_match(&app, &path, &token, &first, Some(&done)).await;
    assert_eq!(current.status(), 200);
    let second = etag_of(&current);
    let (_, state) = status_and_json(app.get_todo(&token, &id).await).await;

    let refused = json!({ "detail": "Precondition Failed" });
    let weak = format!("W/{second}");
    for stale in [first.as_str(), "\"nope\"", weak.as_str(), "not-a-tag"] {
        let patch = patch_if_match(
            &app,
            &path,
            &token,
            stale,
            Some(&json!({ "contents": "changed" })),
        )
        .await;
        assert_eq!(
            status_and_json(patch).await,
            (412, refused.clone()),
            "{stale}"
        );
        let delete = delete_if_match(&app, &path, &token, stale).await;
        assert_eq!(
            status_and_json(delete).await,
            (412, refused.clone()),
            "{stale}"
        );
    }
    let (_, unchanged) = status_and_json(app.get_todo(&token, &id).await).await;
    assert_eq!(unchanged, state, "412s change nothing");

    let list = format!("\"nope\", {second}");
    let any = patch_if_match(
        &app,
        &path,
        &token,
        &list,
        Some(&json!({ "is_done": false })),
    )
    .await;
    assert_eq!(any.status(), 200, "one of several tags");
    let third = etag_of(&any);
    let star = patch_if_match(&app, &path, &token, "*", Some(&done)).await;
    assert_eq!(star.status(), 200);
    let delete = delete_if_match(&app, &path, &token, &third).await;
    assert_eq!(delete.status(), 412, "the `*` PATCH moved the ETag");
    let fourth = etag_of(&star);
    let delete = delete_if_match(&app, &path, &token, &fourth).await;
    assert_eq!(delete.status(), 204);

    // Gone, or another user's: 404 whatever the preconditions say.
    let bob = app.token_for("bob").await;
    let bobs = app.new_todo(&bob, "bob's").await;
    let bobs_path = format!("/todos/{bobs}");
    for (path, tag) in [(&path, "*"), (&path, fourth.as_str()), (&bobs_path, "*")] {
        let patch = patch_if_match(&app, path, &token, tag, Some(&done)).await;
        assert_eq!(
            status_and_json(patch).await,
            (404, json!({ "detail": "ToDo Not Found" }))
        );
        let delete = delete_if_match(&app, path, &token, tag).await;
        assert_eq!(delete.status(), 404);
    }
}

#[tokio::test]
async fn of_concurrent_conditional_patches_with_one_etag_exactly_one_wins() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let created = app
        .create_todo(&token, &json!({ "contents": "buy milk" }))
        .await;
    let etag = etag_of(&created);
    let id = created.json::<Value>().await.unwrap()["id"].to_string();
    let path = format!("/todos/{id}");

    let statuses: Vec<u16> = stream::iter(0..10)
        .map(|n| {
            let (app, token, path, etag) = (&app, &token, &path, &etag);
            async move {
                let body = json!({ "contents": format!("writer {n}") });
                send(
                    app,
                    Method::PATCH,
                    path,
                    token,
                    &[("if-match", etag)],
                    Some(&body),
                )
                .await
                .status()
                .as_u16()
            }
        })
        .buffer_unordered(10)
        .collect()
        .await;

    let wins = statuses.iter().filter(|&&s| s == 200).count();
    assert_eq!(wins, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 412),
        "{statuses:?}"
    );
}

// ---- idempotent creation ----------------------------------------------------------------

async fn post_with_key(app: &TestApp, token: &str, key: &str, body: &Value) -> Response {
    send(
        app,
        Method::POST,
        "/todos",
        token,
        &[("idempotency-key", key)],
        Some(body),
    )
    .await
}

async fn count(app: &TestApp, token: &str) -> usize {
    let (_, body) = status_and_json(app.list_todos(token, "").await).await;
    body["todos"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_repeated_key_gets_the_first_answer_and_creates_nothing() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let body = json!({ "contents": "buy milk" });

    let first = post_with_key(&app, &token, "order-1", &body).await;
    let first_etag = etag_of(&first);
    let (status, first_body) = status_and_json(first).await;
    assert_eq!(status, 201);
    // The todo changes afterwards; the repeat still answers as the first did.
    let id = first_body["id"].to_string();
    app.update_todo(&token, &id, &json!({ "is_done": true }))
        .await;

    for repeat in [
        body.clone(),
        json!({ "contents": "buy milk", "is_done": false }),
    ] {
        let again = post_with_key(&app, &token, "order-1", &repeat).await;
        assert_eq!(etag_of(&again), first_etag);
        assert_eq!(status_and_json(again).await, (201, first_body.clone()));
    }
    assert_eq!(count(&app, &token).await, 1);

    // The same key with another body.
    for other in [
        json!({ "contents": "buy bread" }),
        json!({ "contents": "buy milk", "is_done": true }),
    ] {
        assert_eq!(
            status_and_json(post_with_key(&app, &token, "order-1", &other).await).await,
            (
                422,
                json!({ "detail": "Idempotency-Key reused with a different body" })
            )
        );
    }
    // Keys are compared exactly, and belong to the user.
    assert_eq!(
        post_with_key(&app, &token, "ORDER-1", &body).await.status(),
        201
    );
    let bob = app.token_for("bob").await;
    let (status, bobs) = status_and_json(post_with_key(&app, &bob, "order-1", &body).await).await;
    assert_eq!(status, 201);
    assert_ne!(bobs["id"], first_body["id"]);
    assert_eq!((count(&app, &token).await, count(&app, &bob).await), (2, 1));

    // Another instance on the same database answers the same.
    let other = app.second_instance().await;
    let again = post_with_key(&other, &token, "order-1", &body).await;
    assert_eq!(status_and_json(again).await, (201, first_body));
}

#[tokio::test]
async fn a_failed_request_keeps_no_key_and_bad_keys_are_422() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;

    assert_422_at(
        post_with_key(&app, &token, "k", &json!({ "contents": "" })).await,
        &["body.contents"],
    )
    .await;
    assert_eq!(
        post_with_key(&app, &token, "k", &json!({ "contents": "fine" }))
            .await
            .status(),
        201,
        "the failed request did not take the key"
    );

    let long = "k".repeat(256);
    for bad in [long.as_str(), "with space", "tab\there", ""] {
        let response = send(
            &app,
            Method::POST,
            "/todos",
            &token,
            &[("idempotency-key", bad)],
            Some(&json!({ "contents": "x" })),
        )
        .await;
        assert_422_at(response, &["header.Idempotency-Key"]).await;
    }
    assert_eq!(
        post_with_key(&app, &token, &"k".repeat(255), &json!({ "contents": "x" }))
            .await
            .status(),
        201
    );
    assert_eq!(count(&app, &token).await, 2);
}

#[tokio::test]
async fn twenty_concurrent_repeats_create_exactly_one_todo() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let body = json!({ "contents": "only once" });

    let answers: Vec<(u16, Value)> = stream::iter(0..20)
        .map(|_| async { status_and_json(post_with_key(&app, &token, "once", &body).await).await })
        .buffer_unordered(20)
        .collect()
        .await;

    assert_eq!(count(&app, &token).await, 1, "{answers:?}");
    let created: BTreeSet<String> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body.to_string())
        .collect();
    assert_eq!(
        created.len(),
        1,
        "every 201 is the same answer: {answers:?}"
    );
    for (status, body) in &answers {
        assert!(
            *status == 201
                || (*status == 409 && *body == json!({ "detail": "Request In Progress" })),
            "{status} {body}"
        );
    }
    // Once the first has finished, a repeat is its answer.
    let (status, again) = status_and_json(post_with_key(&app, &token, "once", &body).await).await;
    assert_eq!(status, 201);
    assert!(created.contains(&again.to_string()));
}

#[tokio::test]
async fn a_repeat_while_the_first_runs_is_409_and_a_dead_request_s_key_is_taken_over() {
    let app = spawn_app().await;
    let token = app.token_for("alice").await;
    let body = json!({ "contents": "pay the rent" });
    app.hold_idempotency_key("alice", "running", "pay the rent", Duration::from_secs(1))
        .await;
    app.hold_idempotency_key("alice", "dead", "pay the rent", Duration::from_secs(120))
        .await;

    assert_eq!(
        status_and_json(post_with_key(&app, &token, "running", &body).await).await,
        (409, json!({ "detail": "Request In Progress" }))
    );
    assert_eq!(
        status_and_json(
            post_with_key(&app, &token, "running", &json!({ "contents": "other" })).await
        )
        .await
        .0,
        422,
        "another body is refused even while the first runs"
    );
    let (status, created) = status_and_json(post_with_key(&app, &token, "dead", &body).await).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        status_and_json(post_with_key(&app, &token, "dead", &body).await).await,
        (201, created)
    );
    assert_eq!(count(&app, &token).await, 1);
}
