//! Settings from AWS Secrets Manager, against a real API server (moto in the test command).

use aws_sdk_secretsmanager::config::BehaviorVersion;
use docket_auth::{Application, Settings, keys::SigningKeys};
use docket_platform::config::Source;
use docket_testkit::{Backend, TestDb, aws_endpoint};
use serde_json::{Value, json};

#[tokio::test]
async fn the_database_url_and_signing_key_can_come_from_secrets_manager() {
    let endpoint = aws_endpoint().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let pem = SigningKeys::generate_pem().unwrap();
    let expected_kid = SigningKeys::from_pem(&pem).unwrap().kid().to_owned();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .load()
        .await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let name = format!("docket/test/{}", uuid::Uuid::new_v4());
    client
        .create_secret()
        .name(&name)
        .secret_string(
            json!({"DATABASE_URL": db.url, "JWT_PRIVATE_KEY": pem, "ACCESS_TOKEN_TTL_SECS": 120})
                .to_string(),
        )
        .send()
        .await
        .unwrap();

    let data = tempfile::tempdir().unwrap();
    let mut source = Source::from_pairs([
        ("SECRETS_ID", name.as_str()),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("PORT", "0"),
        ("DATA_DIR", data.path().to_str().unwrap()),
        // Set in the environment: wins over the secret's 120.
        ("ACCESS_TOKEN_TTL_SECS", "60"),
    ]);
    source.fill_from_secrets_manager().await.unwrap();
    let settings = Settings::from_source(&source).unwrap();
    assert_eq!(settings.access_token_ttl.as_secs(), 60);
    assert!(
        !format!("{settings:?}").contains("PRIVATE KEY"),
        "secrets must not print"
    );
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    let http = docket_testkit::http();
    let jwks: Value = http
        .get(format!("{base}/api/auth/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], expected_kid.as_str());
    let resp = http
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"email": "s@example.com", "password": "password123", "name": "S"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    // A secret that does not exist stops start-up with an error naming it.
    let mut missing = Source::from_pairs([
        ("SECRETS_ID", "docket/nope"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
    ]);
    let err = missing.fill_from_secrets_manager().await.unwrap_err();
    assert!(format!("{err:#}").contains("docket/nope"), "{err:#}");
}
