/// How diffs are written on stdout (`output`).
public enum OutputFormat: String, Sendable, CaseIterable {
  /// One JSON object per line.
  case jsonl
  /// Human-readable text.
  case pretty
  /// `pretty` on a terminal, `jsonl` otherwise.
  case auto
}
