// The official client's HTTP (negotiate) over Node's own fetch. Needed in this workspace: @microsoft/signalr's
// Node path require()s `tough-cookie` without declaring it (dotnet/aspnetcore#52656) and gets the hoisted 2.5.0
// (from azurite), whose CookieJar breaks fetch-cookie ("Cannot read properties of undefined (reading
// 'secure')"). Same behaviour as the client's FetchHttpClient, minus the cookie jar the hub does not use.

import {
  AbortError,
  HttpClient,
  HttpError,
  HttpResponse,
  TimeoutError,
  type HttpRequest,
} from '@microsoft/signalr';

export class NodeFetchHttpClient extends HttpClient {
  async send(request: HttpRequest): Promise<HttpResponse> {
    if (request.abortSignal?.aborted) throw new AbortError();
    const controller = new AbortController();
    let failure: Error | undefined;
    if (request.abortSignal) {
      request.abortSignal.onabort = () => {
        failure = new AbortError();
        controller.abort();
      };
    }
    const timer =
      request.timeout === undefined || request.timeout === 0
        ? undefined
        : setTimeout(() => {
            failure = new TimeoutError();
            controller.abort();
          }, request.timeout);
    let response: Response;
    try {
      response = await fetch(request.url!, {
        method: request.method!,
        headers: { 'X-Requested-With': 'XMLHttpRequest', ...request.headers },
        ...(request.content ? { body: request.content } : {}),
        signal: controller.signal,
      });
    } catch (error) {
      throw failure ?? error;
    } finally {
      clearTimeout(timer);
      if (request.abortSignal) request.abortSignal.onabort = null;
    }
    if (!response.ok) {
      throw new HttpError((await response.text()) || response.statusText, response.status);
    }
    const content =
      request.responseType === 'arraybuffer' ? await response.arrayBuffer() : await response.text();
    return new HttpResponse(response.status, response.statusText, content);
  }
}
