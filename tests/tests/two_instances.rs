//! Two `todos` instances behind a load balancer: one database, one Redis,
//! one JWT secret. Each accepts the other's tokens and sees its writes.
//! Run with DATABASE_URL (MariaDB/PostgreSQL) and REDIS_URL to test the
//! shared servers; on SQLite alone both share one file.

use serde_json::json;
use todos_tests::{spawn_app, status_and_json};

#[tokio::test]
async fn tokens_and_writes_cross_between_instances() {
    let a = spawn_app().await;
    let b = a.second_instance().await;

    assert_eq!(a.sign_up("ann", "password123").await.status(), 201);
    assert_eq!(
        b.sign_up("ann", "password123").await.status(),
        409,
        "B sees A's user"
    );
    let (status, body) = status_and_json(b.log_in("ann", "password123").await).await;
    assert_eq!(status, 200);
    let token_from_b = body["access_token"].as_str().unwrap().to_owned();

    let id = a
        .new_todo(&token_from_b, "written through A with B's token")
        .await;
    let (status, todo) = status_and_json(b.get_todo(&token_from_b, &id.to_string()).await).await;
    assert_eq!(
        (status, todo["contents"].clone()),
        (200, json!("written through A with B's token"))
    );
    let response = b
        .update_todo(&token_from_b, &id.to_string(), &json!({ "is_done": true }))
        .await;
    assert_eq!(response.status(), 200);
    let (_, list) = status_and_json(a.list_todos(&token_from_b, "").await).await;
    assert_eq!(list["todos"][0]["is_done"], true, "A sees B's update");

    // An OTP issued by one instance verifies on the other: shared Redis only.
    if a.redis.is_some() {
        let code = a.otp_for(&token_from_b, "ann@example.com").await;
        let (status, user) =
            status_and_json(b.verify_otp(&token_from_b, "ann@example.com", &code).await).await;
        assert_eq!((status, user["email_verified"].clone()), (200, json!(true)));
    } else {
        eprintln!("REDIS_URL is not set: the shared-OTP half of this test did not run");
    }
}
