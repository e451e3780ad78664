// Fixture for scripts/check-function-length: one function of 8 lines, with braces in strings
// and comments that must not confuse the count.
int eight_lines(int x) {
  const char* text = "}}}";  // }
  /* { */
  if (x > 0) {
    return 1;
  }
  return text[0];
}
