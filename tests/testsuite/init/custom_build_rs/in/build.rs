// The build script's main comes from a macro: init cannot know where to add the call.
build_helpers::main!(generate_bindings);
