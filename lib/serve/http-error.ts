// An error with the HTTP status it should be answered with; OpenAI routes also name the offending field
// (`param`) and a machine-readable `code`.

export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly param: string | null;
  readonly code: string | null;

  constructor(status: number, message: string, param: string | null = null, code: string | null = null) {
    super(message);
    this.status = status;
    this.param = param;
    this.code = code;
  }
}

export const badRequest = (message: string, param: string | null = null): HttpError => new HttpError(400, message, param);
export const notFound = (message: string): HttpError => new HttpError(404, message);
