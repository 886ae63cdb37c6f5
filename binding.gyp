# Fallback build for node-gyp users (npm run build uses cmake-js and CMakeLists.txt). Same sources, same
# LibTorch discovery (scripts/torch-flags.mjs). Not run on install: package.json sets "gypfile": false.
{
  "targets": [
    {
      "target_name": "node_peft",
      "sources": ["<!@(node scripts/torch-flags.mjs sources)", "native/glibc_compat.c"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/torch-flags.mjs include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags": ["-include", "<(module_root_dir)/native/glibc_compat.h"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-frtti", "-fvisibility=hidden", "-include", "<(module_root_dir)/native/glibc_compat.h"],
      "libraries": [
        "-L<!@(node scripts/torch-flags.mjs libdir)",
        "-ltorch_cpu",
        "-lc10",
        "-Wl,-z,now",
        "-Wl,--push-state,--no-as-needed", "-l:libdl.so.2", "-Wl,--pop-state"
      ]
    },
    {
      "target_name": "node_peft_loader",
      "sources": ["native/loader/loader.c"],
      "cflags": ["-include", "<(module_root_dir)/native/glibc_compat.h"],
      "libraries": ["-Wl,--push-state,--no-as-needed", "-l:libdl.so.2", "-Wl,--pop-state"]
    }
  ]
}
