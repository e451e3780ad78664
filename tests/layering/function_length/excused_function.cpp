// Fixture for scripts/check-function-length: a long function whose comment says why.
// Long because: a lookup table reads best as one piece.
int table(int x) {
  switch (x) {
    case 0:
      return 10;
    default:
      return 0;
  }
}
