// `sqlx::migrate!` embeds the migrations when the crate compiles; without this, adding a
// migration file would not rebuild the crate and the service would run without it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
