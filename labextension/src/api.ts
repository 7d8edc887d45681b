/**
 * REST calls to the jupyter_pyvariant server extension.
 *
 * Every request goes through ServerConnection so the base URL, the token and the XSRF header are the
 * ones the rest of the application uses.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** URL prefix of every route the server extension registers. */
export const API_NAMESPACE = 'pyvariant/api';

/**
 * Call one route of the server extension and decode its JSON answer.
 *
 * Throws `ServerConnection.ResponseError` (with the server's message) on a non-2xx answer and
 * `ServerConnection.NetworkError` when the server cannot be reached.
 */
export async function requestAPI<T>(
  endpoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endpoint);
  const response = await ServerConnection.makeRequest(url, init, settings);
  const body = await response.text();
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response, errorMessage(body) ?? response.statusText);
  }
  // 204 No Content (a DELETE) has no body to decode.
  return (body ? JSON.parse(body) : undefined) as T;
}

/** jupyter_server answers errors as `{"message": ...}`; fall back to the status line otherwise. */
function errorMessage(body: string): string | undefined {
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    return typeof message === 'string' && message ? message : undefined;
  } catch {
    return undefined;
  }
}

/** The message of anything thrown, for showing to a person. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
