// `sqlx::migrate!` embeds the migrations at compile time; a new migration file alone
// would not make cargo rebuild the crate without this.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
