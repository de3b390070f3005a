"""Object storage: inputs and outputs at `s3://`, `gs://`, `az://`, `sftp://` and `http(s)://`.

- `ObjectStore` (`port.py`) is what vmafx needs from a store: stat, read the first bytes, sign
  a GET or PUT URL, upload a local file, list a prefix. `S3ObjectStore` (boto3: S3 and
  S3-compatible servers, credentials from the standard `AWS_*` variables) is the one run here;
  `FsspecObjectStore` reaches gs/az/sftp through fsspec (gcsfs, adlfs, sshfs) and was never run.
- `inputs.open_remote` turns a URL into a `RemoteInput` under the input policy: the name is
  checked (no playlist), the object stat'ed (missing → exit 3), its first bytes sniffed (a
  playlist under a video name is refused), then a short-lived GET URL signed for ffmpeg.
- `outputs.upload` writes a local file to a URL with a checksum the server verifies (multipart
  above 64 MiB); an object appears under its name only once the upload completed.
- `signed.put_file` uploads through a presigned PUT URL (what a node does: it holds no
  credentials).

Errors map onto the one tree in `vmafx.errors`: a missing object or bucket `InputNotFoundError`
(exit 3), refused credentials or signature `AuthError` (exit 16), an unreachable endpoint
`UnavailableError` (exit 17), a failed upload `OutputWriteError` (exit 20), a missing SDK
`MissingExtraError` (exit 19, with the `pip install 'vmafx[s3]'` command). No message carries a
secret or a signed URL.
"""
