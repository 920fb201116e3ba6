fn main() {
    dbmigrate_build::embed();
    println!("cargo::rerun-if-changed=build.rs");
}
