// A request the API answers with this status and reason (a 4xx is the request's fault).

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
