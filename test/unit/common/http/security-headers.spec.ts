import { CONTENT_SECURITY_POLICY } from '../../../../src/app.factory';
import { securityHeaders } from '../../../../src/common/http/security-headers';

describe('securityHeaders', () => {
  it("gives helmet's headers for the options, worked out once", () => {
    const headers = securityHeaders({
      contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    });
    expect(headers).toMatchObject({
      'content-security-policy': expect.stringContaining("default-src 'none';script-src 'self'"),
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'strict-transport-security': expect.stringMatching(/^max-age=/),
    });
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });
});
