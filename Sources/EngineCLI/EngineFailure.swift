/// A failure already explained in one line; the command exits with `code`.
struct EngineFailure: Error {
  var message: String
  var code: Int32 = 1
}
