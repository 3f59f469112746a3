// Photos sent with the report: one GraphQL multipart request (docs/photos.md: the report and
// its photos are stored together or not at all; the GraphQL-Require-Preflight header is the
// server's CSRF rule for multipart requests).
import { t } from "./page.js";

export const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];

/** Why these files cannot be sent, or null (the server checks again, by content). */
export function photoProblem(files, maxCount, maxBytes) {
  if (files.length > maxCount) return t("At most {count} photos.", { count: maxCount });
  for (const file of files) {
    if (!PHOTO_TYPES.includes(file.type)) return t("{name}: only JPEG, PNG or WebP photos.", { name: file.name });
    if (file.size > maxBytes) {
      return t("{name}: a photo may have at most {mb} MB.", { name: file.name, mb: Math.floor(maxBytes / 1048576) });
    }
  }
  return null;
}

/** submitReport with `files`; resolves to its payload, rejects as page.gql does. */
export async function submitWithPhotos(query, input, key, files) {
  const list = [...files];
  const body = new FormData();
  body.append("operations", JSON.stringify({ query, variables: { input, key, photos: list.map(() => null) } }));
  body.append("map", JSON.stringify(Object.fromEntries(list.map((_, i) => [String(i), [`variables.photos.${i}`]]))));
  list.forEach((file, i) => body.append(String(i), file));
  const response = await fetch("/graphql", { method: "POST", body, headers: { "GraphQL-Require-Preflight": "1" } });
  const answer = await response.json();
  const errors = answer.errors || (answer.error ? [{ message: answer.error }] : []);
  if (errors.length || !response.ok) {
    const error = new Error((errors[0] && errors[0].message) || `HTTP ${response.status}`);
    error.code = errors[0] && errors[0].extensions && errors[0].extensions.code;
    throw error;
  }
  return answer.data.submitReport;
}
