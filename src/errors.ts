// Errors a person caused with a flag or a request (not a file: that is InputError, with its
// location). Every front door reports them as the person's mistake: status 2, HTTP 400.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
