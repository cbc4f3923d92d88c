/* gethostbyname(), gethostbyname2() and their _r forms: the same memory as
 * getaddrinfo(). h_errno and errno are left as the real call set them. */
#include "config.h"

#include <errno.h>

#include "preload.h"

SE_EXPORT struct hostent *gethostbyname(const char *name)
{
	struct hostent *h;
	int saved;

	if (!se_configured()) {
		if (se_sys.gethostbyname)
			return se_sys.gethostbyname(name);
		return NULL;
	}
	if (!SE_ENTER())
		return se_sys.gethostbyname(name);
	h = se_sys.gethostbyname(name);
	saved = errno;
	se_remember_hostent(name, h);
	errno = saved;
	se_leave();
	return h;
}

SE_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
	struct hostent *h;
	int saved;

	if (!se_configured()) {
		if (se_sys.gethostbyname2)
			return se_sys.gethostbyname2(name, af);
		return NULL;
	}
	if (!SE_ENTER())
		return se_sys.gethostbyname2(name, af);
	h = se_sys.gethostbyname2(name, af);
	saved = errno;
	se_remember_hostent(name, h);
	errno = saved;
	se_leave();
	return h;
}

SE_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf,
			      size_t buflen, struct hostent **result,
			      int *h_errnop)
{
	int rc, saved;

	if (!se_configured()) {
		if (se_sys.gethostbyname_r)
			return se_sys.gethostbyname_r(name, ret, buf, buflen,
						       result, h_errnop);
		return ENOSYS;
	}
	if (!SE_ENTER())
		return se_sys.gethostbyname_r(name, ret, buf, buflen, result,
					       h_errnop);
	rc = se_sys.gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
	saved = errno;
	if (rc == 0 && result)
		se_remember_hostent(name, *result);
	errno = saved;
	se_leave();
	return rc;
}

SE_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret,
			       char *buf, size_t buflen,
			       struct hostent **result, int *h_errnop)
{
	int rc, saved;

	if (!se_configured()) {
		if (se_sys.gethostbyname2_r)
			return se_sys.gethostbyname2_r(name, af, ret, buf,
							buflen, result, h_errnop);
		return ENOSYS;
	}
	if (!SE_ENTER())
		return se_sys.gethostbyname2_r(name, af, ret, buf, buflen,
						result, h_errnop);
	rc = se_sys.gethostbyname2_r(name, af, ret, buf, buflen, result,
				      h_errnop);
	saved = errno;
	if (rc == 0 && result)
		se_remember_hostent(name, *result);
	errno = saved;
	se_leave();
	return rc;
}
