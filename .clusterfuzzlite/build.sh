#!/bin/bash -eu
# ClusterFuzzLite runs $SRC/build.sh inside its builder image; the real
# build script is shared with the OSS-Fuzz layout and runs outside it too.
exec "$SRC/fcgi-conformance/fuzz/oss-fuzz/build.sh"
