// Photos sent with a report: the upload contract of the server side (docs/photos.md).
export async function photoUpload() {
  throw new Error("photos are not accepted yet");
}
