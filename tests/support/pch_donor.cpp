// Compiles the precompiled header that the test programs share (see
// tests/CMakeLists.txt); runs nothing.
int main() {
  return 0;
}
